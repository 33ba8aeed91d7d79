# signify's PE Authenticode fingerprint; oscrypto (used only to verify certificate
# signatures, not to hash) cannot detect this system's OpenSSL 3, so it is stubbed.
import sys, hashlib, types
stub = types.ModuleType('oscrypto')
for n in ('asymmetric','trust_list','errors','symmetric','keys','util','tls'):
    m = types.ModuleType('oscrypto.'+n); setattr(stub, n, m); sys.modules['oscrypto.'+n] = m
sys.modules['oscrypto'] = stub
from signify.authenticode.signed_file.pe import SignedPEFile
with open(sys.argv[1],'rb') as f:
    print(SignedPEFile(f).get_fingerprint(hashlib.sha384).hex())

/**
 * @module nvidia/roots
 * The NVIDIA device identity root ("NVIDIA Device Identity CA", P-384, self-signed,
 * valid 2021-11-05 .. 9999-12-31), compiled in. Every real Hopper certificate chain
 * ends at this certificate. Source: NVIDIA nvtrust / confidential-containers trustee
 * (`verifier_device_root.pem`), identical to test/fixtures/roots/nvidia-device-root.pem of this package.
 *
 * INVARIANT: only these bytes (compared exactly) or an explicit simulated anchor are trusted.
 */
import { fromBase64 } from '@veritee/core';

/** SHA-256 of the DER, for reviewers: 10:2B:F6:59:...:16:7B:48. */
export const NVIDIA_DEVICE_ROOT_SHA256 = '102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48';

export const NVIDIA_DEVICE_ROOT_PEM = `\
-----BEGIN CERTIFICATE-----
MIICCzCCAZCgAwIBAgIQLTZwscoQBBHB/sDoKgZbVDAKBggqhkjOPQQDAzA1MSIw
IAYDVQQDDBlOVklESUEgRGV2aWNlIElkZW50aXR5IENBMQ8wDQYDVQQKDAZOVklE
SUEwIBcNMjExMTA1MDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMDUxIjAgBgNVBAMM
GU5WSURJQSBEZXZpY2UgSWRlbnRpdHkgQ0ExDzANBgNVBAoMBk5WSURJQTB2MBAG
ByqGSM49AgEGBSuBBAAiA2IABA5MFKM7+KViZljbQSlgfky/RRnEQScW9NDZF8SX
gAW96r6u/Ve8ZggtcYpPi2BS4VFu6KfEIrhN6FcHG7WP05W+oM+hxj7nyA1r1jkB
2Ry70YfThX3Ba1zOryOP+MJ9vaNjMGEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B
Af8EBAMCAQYwHQYDVR0OBBYEFFeF/4PyY8xlfWi3Olv0jUrL+0lfMB8GA1UdIwQY
MBaAFFeF/4PyY8xlfWi3Olv0jUrL+0lfMAoGCCqGSM49BAMDA2kAMGYCMQCPeFM3
TASsKQVaT+8S0sO9u97PVGCpE9d/I42IT7k3UUOLSR/qvJynVOD1vQKVXf0CMQC+
EY55WYoDBvs2wPAH1Gw4LbcwUN8QCff8bFmV4ZxjCRr4WXTLFHBKjbfneGSBWwA=
-----END CERTIFICATE-----`;

let cached: Uint8Array | undefined;

/** DER of the bundled NVIDIA device identity root. */
export function nvidiaDeviceRootDer(): Uint8Array {
  if (cached === undefined) {
    const b64 = NVIDIA_DEVICE_ROOT_PEM.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '');
    cached = fromBase64(b64, 'bundled NVIDIA root');
  }
  return cached.slice();
}

// Runs dstack-mr's own TDX calculation (its public API) on one image directory and
// prints {mrtd, rtmr0, rtmr1, rtmr2} as JSON. Built as an example of the dstack-mr
// crate from a dstack checkout (see README.md beside this file); used only to make
// packages/image/test/vectors/tdx/dstack-mr.json, never by the tests.
//
// usage: veritee_vectors IMAGE_DIR VM_CONFIG_JSON ACPI_TABLES ACPI_RSDP ACPI_LOADER
use dstack_mr::tdx::{
    tdx_measurements_from_measurement_document, tdx_os_image_measurement_cbor_for_image_dir,
    TdxRtmr0AcpiHashes,
};
use dstack_types::{TdxOsImageMeasurementDocument, VmConfig};
use sha2::{Digest, Sha384};
use std::path::Path;

fn sha384(path: &str) -> Vec<u8> {
    Sha384::digest(std::fs::read(path).expect("read")).to_vec()
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let dir = Path::new(&a[1]);
    let vm: VmConfig = serde_json::from_str(&a[2]).expect("vm config");
    let cbor = tdx_os_image_measurement_cbor_for_image_dir(dir).expect("measurement material");
    let sums = std::fs::read(dir.join("sha256sum.txt")).expect("sha256sum.txt");
    let doc = TdxOsImageMeasurementDocument::new(sums, cbor);
    let acpi = TdxRtmr0AcpiHashes { tables: sha384(&a[3]), rsdp: sha384(&a[4]), loader: sha384(&a[5]) };
    let m = tdx_measurements_from_measurement_document(&doc, &vm, &acpi).expect("measurements");
    println!(
        "{{\"mrtd\":\"{}\",\"rtmr0\":\"{}\",\"rtmr1\":\"{}\",\"rtmr2\":\"{}\"}}",
        hex::encode(&m.mrtd),
        hex::encode(&m.rtmr0),
        hex::encode(&m.rtmr1),
        hex::encode(&m.rtmr2)
    );
}

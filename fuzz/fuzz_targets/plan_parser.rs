//! The plan parser and validator on any text: errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = shequ_model::Plan::parse("fuzz.toml", text);
    }
});

//! Scenario text, parsed and validated: any bytes give a model or problems, never a panic;
//! a model that loads also loads from its canonical text (what `capsim sweep` writes back).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(source) = capsim::scenario::Source::parse(text, "fuzz.toml") {
        let _ = source.model();
    }
    let _ = capsim::scenario::load(text, "fuzz.toml", &[]);
});

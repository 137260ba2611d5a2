//! Scenario text, parsed and validated: any bytes give a model or problems, never a panic.
//! The text is also validated as `--sweep` would see it (`Source::model`, the parsed table
//! kept), and both must give the same
//! answer: a model, or the same messages.
//!
//! A scenario names files (`traffic.trace`); here every file it names reads as the text after
//! a line `#%file` in the input, so the trace reader is fuzzed with the scenario that names it
//! (an input without that line has no files, as a scenario given as text alone).
#![no_main]
use libfuzzer_sys::fuzz_target;

const FILE_MARK: &str = "\n#%file\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (scenario, file) = match text.split_once(FILE_MARK) {
        Some((scenario, file)) => (scenario, Some(file)),
        None => (text, None),
    };
    let files = |_: &str| {
        file.map(str::to_string)
            .ok_or_else(|| "no such file".to_string())
    };
    let whole = capsim::scenario::load_with_files(scenario, "fuzz.toml", &[], &files);
    if let Ok(source) = capsim::scenario::Source::parse_with_files(scenario, "fuzz.toml", &files) {
        match (source.model(), &whole) {
            (Ok(_), Ok(_)) => {}
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("a scenario loads alone but not as a sweep's source, or the reverse"),
        }
    }
});

//! The report directory as a user gets it: `capsim run --out DIR` and `capsim report DIR` on
//! every shipped scenario, file names that cannot leave DIR, scenario text shown as text, and
//! the page opened in a real browser (headless Chromium: `apt-get install chromium`).

use super::support::{files_under, Output, Scratch};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every scenario the repository ships (the teaching set and the peers' bench model).
fn shipped_scenarios() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root().join("scenarios"), root().join("benches")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// `(width, height, share of pixels that are not white)` of a PNG.
fn png_facts(bytes: &[u8]) -> (u32, u32, f64) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("a PNG frame");
    let channels = info.color_type.samples();
    let data = &pixels[..info.buffer_size()];
    let inked = data
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|&v| v < 235))
        .count();
    (
        info.width,
        info.height,
        inked as f64 / (data.len() / channels) as f64,
    )
}

/// The plots a page shows, by the ids of their figures, in order.
fn plots_in(html: &str) -> Vec<String> {
    html.match_indices("<figure class=\"plot\" id=\"plot-")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// Checks a report directory: every plot the page shows exists as a PNG of the chart size
/// with something drawn on it and as an SVG with text (glyphs) and marks, inline in the page.
fn check_report(dir: &Path) -> Vec<String> {
    let html = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    assert!(
        html.contains("id=\"verdicts\""),
        "{}: no verdicts",
        dir.display()
    );
    let plots = plots_in(&html);
    for name in &plots {
        let png = std::fs::read(dir.join(format!("{name}.png"))).expect("a PNG per plot");
        let (w, h, inked) = png_facts(&png);
        assert_eq!((w, h), (1000, 560), "{name}.png");
        // Title, axes, ticks and legend alone ink about 1.5% of a chart.
        assert!(inked > 0.01, "{name}.png is nearly blank ({inked})");
        let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).expect("an SVG");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.matches("<use ").count() > 20, "{name}.svg has no text");
        assert!(
            svg.contains("<polyline") || svg.contains("<rect") || svg.contains("<polygon"),
            "{name}.svg draws nothing"
        );
        assert!(html.contains(&svg), "{name}.svg is inline in the page");
    }
    plots
}

#[test]
fn every_shipped_scenario_renders_a_report_and_capsim_report_draws_it_again() {
    let scenarios = shipped_scenarios();
    assert!(scenarios.len() >= 8, "{scenarios:?}");
    for scenario in scenarios {
        let scratch = Scratch::new("report-all");
        let out = scratch.dir.join("out");
        let run = scratch.capsim(&[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(
            matches!(run.code, Some(0 | 1)) && !run.stderr.contains("panicked"),
            "{}: {run:#?}",
            scenario.display()
        );
        let plots = check_report(&out);
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        if summary.get("overloaded").is_none() {
            for name in ["latency_cdf", "outcomes", "utilization", "cost_per_service"] {
                assert!(
                    plots.iter().any(|p| p == name),
                    "{}: {name}",
                    scenario.display()
                );
            }
        }
        // Drawn again from the saved files alone: the same page, byte for byte.
        let page = std::fs::read(out.join("index.html")).unwrap();
        std::fs::remove_file(out.join("index.html")).unwrap();
        let again = scratch.capsim(&["report", out.to_str().unwrap()]);
        assert_eq!(again.code, Some(0), "{again:#?}");
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), page);
        // No temporary file is left behind (the manifest of what capsim wrote is not one).
        for entry in std::fs::read_dir(&out).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                !name.starts_with('.') || name == ".capsim-files",
                "left behind: {name}"
            );
        }
    }
}

#[test]
fn capsim_report_draws_from_the_saved_files_without_simulating() {
    let scratch = Scratch::new("report-only");
    let out = scratch.dir.join("out");
    let two_tier = root().join("scenarios/teaching/two-tier.toml");
    let run = scratch.capsim(&[
        "run",
        two_tier.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    // A scenario that would take very long to simulate: report must not try.
    let slow = "[scenario]\nduration = \"100d\"\n[traffic]\nrate = 1000000\nentry = \"a\"\n\
                [[service]]\nname = \"a\"\nconcurrency = 100\nservice_time = { dist = \"exponential\", mean = \"50us\" }\n";
    std::fs::write(out.join("scenario.toml"), slow).unwrap();
    // The time series and sweep files light up their plots when present.
    std::fs::write(
        out.join("timeseries.csv"),
        capsim::report::sample::timeseries_csv(360, 10.0, &["web", "db"]),
    )
    .unwrap();
    std::fs::write(
        out.join("results.csv"),
        capsim::report::sample::results_csv(2..=5, &[150.0, 300.0]),
    )
    .unwrap();
    let started = Instant::now();
    let again = scratch
        .capsim_within(&["report", out.to_str().unwrap()], Duration::from_secs(60))
        .expect("capsim report finishes");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(again.code, Some(0), "{again:#?}");
    assert_eq!(
        again.stdout.trim(),
        out.join("index.html").display().to_string()
    );
    let plots = check_report(&out);
    for name in [
        "latency_over_time",
        "throughput_over_time",
        "failures_over_time",
        "replicas_over_time",
        "utilization_over_time",
        "cost_over_time",
        "cost_cumulative",
        "latency_cdf",
        "sweep_p99",
        "sweep_cost_p99",
        "sweep_heatmap",
    ] {
        assert!(plots.iter().any(|p| p == name), "{name} in {plots:?}");
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        html.contains("duration = &quot;100d&quot;"),
        "the scenario as saved"
    );

    // A directory without data: exit 2 and say what is missing.
    let empty = scratch.dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let message = scratch
        .capsim(&["report", empty.to_str().unwrap()])
        .bad_input()
        .to_string();
    assert!(
        message.contains("neither summary.json nor results.csv"),
        "{message}"
    );
    // A broken file: exit 2, named.
    std::fs::write(empty.join("summary.json"), "{ not json").unwrap();
    let message = scratch
        .capsim(&["report", empty.to_str().unwrap()])
        .bad_input()
        .to_string();
    assert!(message.contains("summary.json"), "{message}");
}

const HOSTILE_NAME: &str = "../../etc/x<script>alert(1)</script>";

/// Runs tail-at-scale (three classes) renamed to [`HOSTILE_NAME`] with `--out out` inside the
/// scratch directory.
fn hostile_run(scratch: &Scratch) -> (PathBuf, Output) {
    let scenario = root().join("scenarios/teaching/tail-at-scale.toml");
    let run = scratch.capsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--set",
        &format!("scenario.name={HOSTILE_NAME:?}"),
        "--set",
        "service.leaf.price_per_hour=0.05",
        "--out",
        "out",
    ]);
    (scratch.dir.join("out"), run)
}

#[test]
fn a_scenario_named_like_a_path_and_markup_writes_only_inside_out_and_shows_as_text() {
    let scratch = Scratch::new("report-hostile");
    let (out, run) = hostile_run(&scratch);
    assert!(matches!(run.code, Some(0 | 1)), "{run:#?}");
    // Everything capsim wrote is directly inside out/.
    for file in files_under(&scratch.dir) {
        assert!(
            file.starts_with("out/") && file.matches('/').count() == 1,
            "written outside --out: {file}"
        );
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["scenario"], HOSTILE_NAME);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        !html.contains("<script"),
        "markup from the scenario reached the page"
    );
    assert!(html.contains(
        "<span id=\"scenario-name\">../../etc/x&lt;script&gt;alert(1)&lt;/script&gt;</span>"
    ));
    assert!(html.contains("<title>capsim: ../../etc/x&lt;script&gt;"));
    for file in files_under(&out) {
        if file.ends_with(".svg") {
            let svg = std::fs::read_to_string(out.join(&file)).unwrap();
            assert!(!svg.contains("<script"), "{file}");
        }
    }
}

/// The Chromium to test with: `CAPSIM_CHROMIUM`, or Debian's `chromium` on the PATH.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CAPSIM_CHROMIUM") {
        return PathBuf::from(path);
    }
    let candidates = ["chromium", "chromium-browser", "google-chrome"];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in candidates {
            let exe = dir.join(name);
            if exe.is_file() {
                return exe;
            }
        }
    }
    panic!(
        "the browser test needs headless Chromium, and none was found on the PATH: install \
         it with `apt-get install chromium` (Debian; .ci/run does this), or point \
         CAPSIM_CHROMIUM at a Chromium or Chrome binary"
    );
}

/// Runs headless Chromium on `url` with `args`, at most a minute; returns (stdout, stderr).
fn headless(profile: &Path, url: &str, args: &[&str]) -> (String, String) {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let (out, err) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within a minute on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (out.join().unwrap(), err.join().unwrap())
}

/// The page's console messages (Chromium logs them as `CONSOLE` lines on standard error).
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// The page opened as a user opens it: its DOM once rendered (no script ran, no console
/// message, nothing refused by its content security policy, which forbids every fetch), the
/// verdict block and every plot present with something drawn, and a screenshot that is not
/// blank. A probe page that logs to the console first shows that console messages would be
/// seen.
#[test]
fn the_report_page_renders_in_headless_chromium() {
    let scratch = Scratch::new("report-browser");
    let (out, run) = hostile_run(&scratch);
    assert!(matches!(run.code, Some(0 | 1)), "{run:#?}");
    std::fs::write(
        out.join("timeseries.csv"),
        capsim::report::sample::timeseries_csv(720, 10.0, &["root", "leaf"]),
    )
    .unwrap();
    std::fs::write(
        out.join("results.csv"),
        capsim::report::sample::results_csv(2..=5, &[150.0, 300.0]),
    )
    .unwrap();
    let again = scratch.capsim(&["report", "out"]);
    assert_eq!(again.code, Some(0), "{again:#?}");
    let plots = check_report(&out);
    assert_eq!(plots.len(), 14, "{plots:?}");

    let profile = scratch.dir.join("chromium-profile");
    // The probe: proves that console messages show up where this test looks for them.
    let probe = scratch.write(
        "probe.html",
        "<!DOCTYPE html><html><body><script>console.error('capsim-probe')</script></body></html>",
    );
    let (_, stderr) = headless(
        &profile,
        &format!("file://{}", probe.display()),
        &["--dump-dom"],
    );
    assert!(
        console_lines(&stderr)
            .iter()
            .any(|l| l.contains("capsim-probe")),
        "chromium's console messages were not seen; stderr:\n{stderr}"
    );

    let page = format!("file://{}", out.join("index.html").display());
    let (dom, stderr) = headless(&profile, &page, &["--dump-dom"]);
    let console = console_lines(&stderr);
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(dom.contains("id=\"verdicts\""), "no verdict block:\n{dom}");
    let verdicts = &dom[dom.find("id=\"verdicts\"").unwrap()..];
    let verdicts = &verdicts[..verdicts.find("</section>").unwrap()];
    assert!(
        verdicts.contains("badge pass") || verdicts.contains("badge fail"),
        "no verdict in {verdicts}"
    );
    assert!(verdicts.contains("PASS") || verdicts.contains("FAIL"));
    // The scenario's name is text: escaped in the DOM, and no script element exists.
    assert!(!dom.contains("<script"), "a script element in the page");
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for name in &plots {
        let start = dom
            .find(&format!("id=\"plot-{name}\""))
            .unwrap_or_else(|| panic!("plot {name} missing from the rendered page"));
        let figure = &dom[start..start + dom[start..].find("</figure>").unwrap()];
        assert!(figure.contains("<svg"), "{name}: no svg");
        assert!(figure.matches("<use ").count() > 20, "{name}: no text");
        assert!(
            figure.contains("<polyline") || figure.contains("<rect"),
            "{name}: nothing drawn"
        );
    }

    let shot = scratch.dir.join("screenshot.png");
    let (_, stderr) = headless(
        &profile,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400",
        ],
    );
    let console = console_lines(&stderr);
    assert!(console.is_empty(), "console messages: {console:#?}");
    let bytes = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}):\n{stderr}"));
    let (w, h, inked) = png_facts(&bytes);
    assert_eq!((w, h), (1280, 2400));
    assert!(inked > 0.02, "the screenshot is nearly blank ({inked})");
}

#[test]
fn a_sweeps_directory_draws_its_charts_with_theory_and_objectives_from_its_scenario() {
    // What `capsim sweep --out` leaves (results.csv), plus the scenario it swept: mm1.toml
    // over traffic.rate. The page takes the p99 objective (50 ms) from the scenario and draws
    // the M/M/1 curve beside the simulated points.
    let scratch = Scratch::new("report-sweep");
    let dir = scratch.dir.join("sweep");
    std::fs::create_dir_all(&dir).unwrap();
    let mm1 = std::fs::read_to_string(root().join("scenarios/teaching/mm1.toml")).unwrap();
    std::fs::write(dir.join("scenario.toml"), mm1).unwrap();
    let mut csv = String::from(
        "traffic.rate,p50_ms,p95_ms,p99_ms,p99_ms_low,p99_ms_high,availability,\
         throughput_rps,cost_per_hour_usd,slo_met,point,replications,overloaded,missed\n",
    );
    for (i, rate) in [500.0, 700.0, 900.0, 950.0].iter().enumerate() {
        // The M/M/1 p99 with a little noise, as a simulation would give.
        let p99 = 100f64.ln() / (1000.0 - rate) * 1e3 * 1.01;
        csv.push_str(&format!(
            "{rate},1,2,{p99},{},{},1,{rate},0.1,{},{i},4,,\n",
            p99 * 0.98,
            p99 * 1.02,
            p99 <= 50.0
        ));
    }
    std::fs::write(dir.join("results.csv"), csv).unwrap();
    let out = scratch.capsim(&["report", dir.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let plots = check_report(&dir);
    assert_eq!(plots, ["sweep_p99", "sweep_cost_p99"]);
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.contains("Sweep: 3 of 4 points meet every SLO"),
        "the verdict block"
    );
    let svg = std::fs::read_to_string(dir.join("sweep_p99.svg")).unwrap();
    // The chart's description names its legend: the theory curve and the objective.
    let desc = &svg[svg.find("<desc").unwrap()..svg.find("</desc>").unwrap()];
    assert!(desc.contains("M/M/c theory"), "{desc}");
    assert!(desc.contains("p99 objective (50.0 ms)"), "{desc}");
    let input = capsim::report::data::SweepResults::parse_csv(
        &std::fs::read_to_string(dir.join("results.csv")).unwrap(),
    )
    .unwrap();
    assert_eq!(input.axes, ["traffic.rate"]);
}

/// Every file of a directory but the hidden ones, with its bytes, by name.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_str().unwrap().starts_with('.'))
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_comparisons_directory_has_its_series_charts_and_page_and_capsim_report_redraws_it() {
    // deploy-strategies' ranker rolled out blue-green and canary, one replication each (about
    // a second of simulation): the p99 of both on one chart, the replicas of each version per
    // strategy on the same axes with the phases shaded, and the comparison table.
    let scratch = Scratch::new("report-compare");
    let out = scratch.dir.join("out");
    let scenario = root().join("scenarios/teaching/deploy-strategies.toml");
    let scenario = scenario.to_str().unwrap();
    let compare = scratch.capsim(&[
        "compare",
        scenario,
        "--strategies",
        "blue_green,canary",
        "--replications",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(matches!(compare.code, Some(0 | 1)), "{compare:#?}");
    let plots = check_report(&out);
    assert_eq!(
        plots,
        [
            "compare_p99",
            "compare_replicas_blue_green",
            "compare_replicas_canary"
        ]
    );
    // Each strategy's time series has the columns `run --out` writes for the same scenario.
    let run_dir = scratch.dir.join("run");
    let run = scratch.capsim(&[
        "run",
        scenario,
        "--replications",
        "1",
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert!(matches!(run.code, Some(0 | 1)), "{run:#?}");
    let header = |path: PathBuf| {
        let text = std::fs::read_to_string(&path).unwrap();
        text.lines().next().unwrap().to_string()
    };
    let run_header = header(run_dir.join("timeseries.csv"));
    for (strategy, phase) in [("blue_green", "switched"), ("canary", "step")] {
        let file = out.join(format!("timeseries-{strategy}.csv"));
        assert_eq!(header(file.clone()), run_header, "{strategy}");
        let ts =
            capsim::report::data::TimeSeries::parse_csv(&std::fs::read_to_string(&file).unwrap())
                .unwrap();
        assert_eq!(ts.deployed(), ["ranker"]);
        assert!(
            ts.texts("ranker.phase").unwrap().contains(&phase),
            "{strategy} passes through {phase}"
        );
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for expected in [
        "<table id=\"comparison\">",
        "<td class=\"name\">blue_green</td>",
        "<table id=\"differences\">",
        "<td class=\"name\">canary</td>",
        "capsim report: <span id=\"scenario-name\">deploy-strategies</span>",
    ] {
        assert!(html.contains(expected), "{expected}");
    }
    // In a real browser: no console message, both tables and every chart drawn.
    let page = format!("file://{}", out.join("index.html").display());
    let (dom, stderr) = headless(
        &scratch.dir.join("chromium-profile"),
        &page,
        &["--dump-dom"],
    );
    let console = console_lines(&stderr);
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(dom.contains("id=\"comparison\"") && dom.contains("id=\"differences\""));
    for name in &plots {
        let start = dom
            .find(&format!("id=\"plot-{name}\""))
            .unwrap_or_else(|| panic!("plot {name} missing from the rendered page"));
        let figure = &dom[start..start + dom[start..].find("</figure>").unwrap()];
        assert!(
            figure.contains("<svg") && figure.contains("<rect"),
            "{name}"
        );
    }

    // Drawn again from the saved files alone: every file the same, byte for byte.
    let before = contents(&out);
    for (name, _) in &before {
        if name.ends_with(".png") || name.ends_with(".svg") || name == "index.html" {
            std::fs::remove_file(out.join(name)).unwrap();
        }
    }
    let again = scratch.capsim(&["report", out.to_str().unwrap()]);
    assert_eq!(again.code, Some(0), "{again:#?}");
    assert!(contents(&out) == before, "capsim report drew other bytes");

    // Leniently: a strategy's series missing draws the rest; a broken file is refused, named.
    std::fs::remove_file(out.join("timeseries-canary.csv")).unwrap();
    let again = scratch.capsim(&["report", out.to_str().unwrap()]);
    assert_eq!(again.code, Some(0), "{again:#?}");
    assert_eq!(
        check_report(&out),
        ["compare_p99", "compare_replicas_blue_green"]
    );
    std::fs::write(out.join("timeseries-blue_green.csv"), "a,b\n1,2\n").unwrap();
    let message = scratch
        .capsim(&["report", out.to_str().unwrap()])
        .bad_input()
        .to_string();
    assert!(message.contains("timeseries-blue_green.csv"), "{message}");
    std::fs::write(out.join("compare.json"), "{ not json").unwrap();
    let message = scratch
        .capsim(&["report", out.to_str().unwrap()])
        .bad_input()
        .to_string();
    assert!(message.contains("compare.json"), "{message}");
}

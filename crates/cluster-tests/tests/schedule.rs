//! The README's pg_cron schedule (also the demo's) fires at the China times it promises.
//! Debian's pg_cron 1.4 runs schedules in GMT: China time is GMT+8.

/// The `cron.schedule(name, expr, command)` calls of a text: (name, expression).
fn schedules(text: &str) -> Vec<(String, String)> {
    text.match_indices("cron.schedule('")
        .filter_map(|(i, m)| {
            let rest = &text[i + m.len()..];
            let (name, rest) = rest.split_once("', '")?;
            let (expr, _) = rest.split_once('\'')?;
            Some((name.to_owned(), expr.to_owned()))
        })
        .collect()
}

/// Expands a cron field of numbers, lists and ranges.
fn field(f: &str) -> Vec<u32> {
    f.split(',')
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().unwrap()..=b.parse().unwrap()).collect::<Vec<_>>(),
            None => vec![part.parse().unwrap()],
        })
        .collect()
}

/// (weekday 0-6 with 0 = Sunday, hour) in China for every GMT firing of the expression.
fn china_firings(expr: &str) -> Vec<(u32, u32)> {
    let parts: Vec<&str> = expr.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "{expr}");
    assert_eq!((parts[0], parts[2], parts[3]), ("0", "*", "*"), "{expr}");
    let mut out = Vec::new();
    for dow in field(parts[4]) {
        for hour in field(parts[1]) {
            let china = hour + 8;
            out.push(((dow + china / 24) % 7, china % 24));
        }
    }
    out.sort();
    out
}

fn check(file: &str) {
    let text = std::fs::read_to_string(format!("{}/../../{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let found = schedules(&text);
    let get = |name: &str| {
        found
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{file} has no {name} schedule: {found:?}"))
            .1
            .clone()
    };
    // Evenings at 18, 19, 21 and 23 h China time, Monday to Friday.
    let evening: Vec<(u32, u32)> = (1..=5).flat_map(|d| [18, 19, 21, 23].map(|h| (d, h))).collect();
    assert_eq!(china_firings(&get("baostock-evening")), evening, "{file}");
    // The morning retry at 08:00 China time, Tuesday to Saturday (after each trading evening).
    let morning: Vec<(u32, u32)> = (2..=6).map(|d| (d, 8)).collect();
    assert_eq!(china_firings(&get("baostock-morning")), morning, "{file}");
}

#[test]
fn the_readme_schedule_runs_at_the_promised_china_times() {
    check("README.md");
}

#[test]
fn the_demo_schedule_is_the_readme_one() {
    check("scripts/demo.sh");
}

//! The pg_cron schedules fire at the China times they promise: the README's by-hand lines and
//! those `baostock.schedule_daily()` makes (which the demo uses). Debian's pg_cron 1.4 (for 15)
//! runs schedules in GMT: China time is GMT+8; pg_cron 1.6 (built for 18) in `cron.timezone`,
//! which the cluster tests set to Asia/Tokyo on 18.

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
    let text = std::fs::read_to_string(format!("{}/../{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
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
fn the_demo_schedules_with_schedule_daily() {
    let demo = std::fs::read_to_string(format!("{}/../scripts/demo.sh", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(demo.contains("SELECT * FROM baostock.schedule_daily();"));
}

/// Minutes China time is ahead of pg_cron's time zone now (negative when behind): GMT for
/// pg_cron 1.4 (Debian's, for 15), `cron.timezone` where pg_cron has it (1.6, built for 18);
/// Postgres's zone data says by how much.
fn china_ahead_minutes() -> i64 {
    pg_baostock_cluster_tests::sql(
        "SELECT (extract(epoch FROM (now() AT TIME ZONE 'Asia/Shanghai')
                 - (now() AT TIME ZONE coalesce(nullif(current_setting('cron.timezone', true), ''), 'GMT'))) / 60)::int",
    )
    .trim()
    .parse()
    .expect("minutes")
}

/// (weekday 0-6 with 0 = Sunday, minute of the day) in China for every firing of a
/// `M H * * DOWS` expression in pg_cron's time zone, China being `ahead` minutes ahead of it.
fn china_minutes_ahead(expr: &str, ahead: i64) -> Vec<(u32, u32)> {
    let parts: Vec<&str> = expr.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "{expr}");
    assert_eq!((parts[2], parts[3]), ("*", "*"), "{expr}");
    let mut out = Vec::new();
    for dow in field(parts[4]) {
        for hour in field(parts[1]) {
            for minute in field(parts[0]) {
                let china = i64::from(dow) * 1440 + i64::from(hour * 60 + minute) + ahead;
                let (day, minute) = (china.div_euclid(1440).rem_euclid(7), china.rem_euclid(1440));
                out.push((u32::try_from(day).unwrap(), u32::try_from(minute).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The pg_cron jobs schedule_daily() made: (name, schedule, command, database).
fn daily_jobs() -> Vec<(String, String, String, String)> {
    pg_baostock_cluster_tests::sql(
        "SELECT jobname, schedule, command, database FROM cron.job WHERE jobname LIKE 'baostock-daily-%' ORDER BY jobname",
    )
    .lines()
    .filter(|l| !l.is_empty())
    .map(|l| {
        let f: Vec<&str> = l.split('|').collect();
        (f[0].to_owned(), f[1].to_owned(), f[2].to_owned(), f[3].to_owned())
    })
    .collect()
}

/// Every (China weekday, minute) a time of schedule_daily() promises: evenings on trading
/// weekdays, mornings (before 12:00) Tuesday to Saturday.
fn promised(time: &str) -> Vec<(u32, u32)> {
    let (h, m) = time.split_once(':').unwrap();
    let minute = h.parse::<u32>().unwrap() * 60 + m.parse::<u32>().unwrap();
    let days = if minute < 12 * 60 { 2..=6 } else { 1..=5 };
    days.map(|d| (d, minute)).collect()
}

#[test]
fn schedule_daily_makes_pg_cron_jobs_that_fire_at_the_china_times_asked() {
    use pg_baostock_cluster_tests::{sql, wait_ready};
    wait_ready(std::time::Duration::from_secs(60));
    sql("SELECT baostock.unschedule_daily()");
    let returned = sql("SELECT jobname || ' ' || china_time || ' ' || schedule FROM baostock.schedule_daily()");
    assert_eq!(returned.lines().count(), 7, "{returned}");
    let ahead = china_ahead_minutes();
    let zone =
        pg_baostock_cluster_tests::sql("SELECT coalesce(nullif(current_setting('cron.timezone', true), ''), 'GMT')");
    let china_minutes = |expr: &str| china_minutes_ahead(expr, ahead);
    let jobs = daily_jobs();
    let defaults = ["18:30", "19:30", "21:00", "23:00", "08:00"];
    assert_eq!(jobs.len(), defaults.len(), "{jobs:?}");
    for time in defaults {
        let name = format!("baostock-daily-{}", time.replace(':', ""));
        let (_, schedule, command, database) = jobs
            .iter()
            .find(|j| j.0 == name)
            .unwrap_or_else(|| panic!("no job {name}: {jobs:?}"));
        assert_eq!(china_minutes(schedule), promised(time), "{name}: {schedule}");
        assert_eq!(command, "SELECT baostock.sync_date()");
        assert_eq!(database, "postgres");
        assert!(returned.contains(&format!("{name} {time} {schedule}")), "{returned}");
    }
    // The first evening time runs on Saturdays (weekly bars) and on the 1st (monthly bars) too.
    let staged = staged_jobs();
    assert_eq!(staged.len(), 2, "{staged:?}");
    let weekly = staged
        .iter()
        .find(|j| j.0 == "baostock-weekly-1830")
        .expect("a weekly job");
    assert_eq!(china_minutes(&weekly.1), vec![(6, 18 * 60 + 30)], "{weekly:?}");
    let monthly = staged
        .iter()
        .find(|j| j.0 == "baostock-monthly-1830")
        .expect("a monthly job");
    let f: Vec<&str> = monthly.1.split_whitespace().collect();
    let local = f[1].parse::<i64>().unwrap() * 60 + f[0].parse::<i64>().unwrap();
    // 18:30 China is the same day in GMT and in Tokyo: the 1st.
    assert_eq!(
        (local + ahead, f[2], f[3], f[4]),
        (18 * 60 + 30, "1", "*", "*"),
        "{monthly:?}"
    );
    assert!(
        staged.iter().all(|j| j.2 == "SELECT baostock.sync_date()"),
        "{staged:?}"
    );
    // Other times replace the set. In GMT one before 08:00 China is the evening before; in
    // Tokyo (an hour ahead of China, no summer time) every time is an hour later the same day.
    sql("SELECT count(*) FROM baostock.schedule_daily(ARRAY['07:30', '17:45'])");
    let jobs = daily_jobs();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let lines = match zone.trim() {
        "GMT" => ["30 23 * * 1,2,3,4,5", "45 9 * * 1,2,3,4,5"],
        "Asia/Tokyo" => ["30 8 * * 2,3,4,5,6", "45 18 * * 1,2,3,4,5"],
        other => panic!("no lines worked out for cron.timezone {other}"),
    };
    for ((name, time), line) in [("baostock-daily-0730", "07:30"), ("baostock-daily-1745", "17:45")]
        .into_iter()
        .zip(lines)
    {
        let job = jobs.iter().find(|j| j.0 == name).unwrap();
        assert_eq!(job.1, line, "{name} in {zone}");
        assert_eq!(china_minutes(&job.1), promised(time), "{name}");
    }
    assert_eq!(
        staged_jobs().len(),
        2,
        "17:45 is the first evening time: {:?}",
        staged_jobs()
    );
    assert_eq!(sql("SELECT baostock.unschedule_daily()"), "4");
    assert!(daily_jobs().is_empty() && staged_jobs().is_empty());
}

/// The weekly and monthly pg_cron jobs schedule_daily() made: (name, schedule, command).
fn staged_jobs() -> Vec<(String, String, String)> {
    pg_baostock_cluster_tests::sql(
        "SELECT jobname, schedule, command FROM cron.job
         WHERE jobname LIKE 'baostock-weekly-%' OR jobname LIKE 'baostock-monthly-%' ORDER BY jobname",
    )
    .lines()
    .filter(|l| !l.is_empty())
    .map(|l| {
        let f: Vec<&str> = l.split('|').collect();
        (f[0].to_owned(), f[1].to_owned(), f[2].to_owned())
    })
    .collect()
}

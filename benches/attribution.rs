//! Lineage and attribution over a large lake: the time of the lineage pass and of full scans of
//! `pipeline_events`, and the peak memory.
//!
//! Run through `benches/attribution.sh`, which builds a 10-million-event lake first; with no
//! `PIPEWARDEN_BENCH_LAKE` set this bench says so and does nothing (so `cargo bench` stays cheap).

use std::time::Instant;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn main() {
    let Ok(lake) = std::env::var("PIPEWARDEN_BENCH_LAKE") else {
        eprintln!("attribution bench: set PIPEWARDEN_BENCH_LAKE (benches/attribution.sh does)");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let lake = pipewarden::lake::Lake::open(&lake.parse().unwrap(), None, pipewarden::lake::Access::Create).unwrap();
        let ctx = pipewarden::engine::base_session(&lake, &Default::default()).await.unwrap();
        let t = Instant::now();
        let n: i64 = {
            let b = ctx
                .sql("SELECT count(*) FROM cloudtrail")
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            arrow::util::display::array_value_to_string(b[0].column(0), 0)
                .unwrap()
                .parse()
                .unwrap()
        };
        println!("events: {n} (count in {:.2}s)", t.elapsed().as_secs_f64());
        let s = pipewarden::attribute::register(
            &ctx,
            &pipewarden::attribute::config::Config::default(),
        )
        .await
        .unwrap();
        println!(
            "lineage pass: {:.2}s; {} sessions ({} attributed, {} outside the window), {} runs, {} pipelines",
            s.elapsed.as_secs_f64(),
            s.sessions,
            s.attributed,
            s.outside_window,
            s.runs,
            s.pipelines
        );
        for q in [
            "SELECT count(*), count(pipeline_id), count(run_id), count(target_env) FROM pipeline_events",
            "SELECT pipeline_id, target_env, credential_type, count(*) AS n FROM pipeline_events GROUP BY 1, 2, 3",
        ] {
            let t = Instant::now();
            let b = ctx.sql(q).await.unwrap().collect().await.unwrap();
            let secs = t.elapsed().as_secs_f64();
            let rows: usize = b.iter().map(|b| b.num_rows()).sum();
            println!(
                "{secs:.2}s ({:.0} events/s), {rows} rows: {q}",
                n as f64 / secs
            );
            if rows == 1 {
                println!(
                    "{}",
                    arrow::util::pretty::pretty_format_batches(&b).unwrap()
                );
            }
        }
    });
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
}

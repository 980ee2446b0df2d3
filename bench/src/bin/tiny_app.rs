//! The student app of the isolation benchmark: answers every GET with a small static
//! body on `127.0.0.1:$PORT` (one runtime thread), and with `--spin N` keeps N threads
//! busy forever (a CPU-bound app).
//!   tiny-app [--spin N]

use axum::Router;

const BODY: &str = "hello from a student app\n";

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut spin = 0usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--spin" => {
                spin = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--spin takes a number")?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    for _ in 0..spin {
        std::thread::spawn(|| {
            let mut x = 0u64;
            loop {
                x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
            }
        });
    }
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .ok_or("PORT is not a port number")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async move {
        let app = Router::new().fallback(|| async { BODY });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("port {port}: {e}"))?;
        axum::serve(listener, app)
            .await
            .map_err(|e| format!("serving: {e}"))
    })
}

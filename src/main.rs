//! The `entitle` binary: parse the command line, run it, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    survive_file_size_limit();
    entitle::cli::main()
}

/// A write past a file-size limit (`ulimit -f`, which binds root too)
/// raises SIGXFSZ, whose default action kills the process at once, with no
/// message and in the middle of whatever it was doing. Handled, the signal
/// does nothing and the write fails with EFBIG ("File too large"), which is
/// reported like any failed write: which file, that the state is as last
/// recorded, and what to do.
///
/// Tokio's handler stays installed for the life of the process, whatever
/// becomes of the runtime and the stream it was asked through.
fn survive_file_size_limit() {
    #[cfg(all(
        any(target_os = "linux", target_os = "macos"),
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "x86",
            target_arch = "arm",
            target_arch = "riscv64"
        )
    ))]
    {
        use tokio::signal::unix::{SignalKind, signal};
        /// SIGXFSZ on these systems and architectures.
        const SIGXFSZ: i32 = 25;
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
        else {
            return;
        };
        let _entered = runtime.enter();
        let _ = signal(SignalKind::from_raw(SIGXFSZ));
    }
}

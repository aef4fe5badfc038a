//! `carcosa-edge`: the operator command line (migrations and provisioning). See
//! `carcosa-edge --help`. Native only: the Worker build has no command line.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    carcosa_edge::cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}

fn main() -> std::process::ExitCode {
    incus_serve::main()
}

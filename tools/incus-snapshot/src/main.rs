fn main() -> std::process::ExitCode {
    incus_snapshot::main()
}

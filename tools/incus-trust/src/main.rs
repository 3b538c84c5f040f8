fn main() -> std::process::ExitCode {
    incus_trust::main()
}

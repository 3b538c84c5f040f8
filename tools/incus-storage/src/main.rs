fn main() -> std::process::ExitCode {
    incus_storage::main()
}

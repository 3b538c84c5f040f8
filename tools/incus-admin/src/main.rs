fn main() -> std::process::ExitCode {
    incus_admin::main()
}

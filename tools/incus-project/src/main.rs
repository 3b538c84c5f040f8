fn main() -> std::process::ExitCode {
    incus_project::main()
}

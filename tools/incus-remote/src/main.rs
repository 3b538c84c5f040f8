fn main() -> std::process::ExitCode {
    incus_remote::main()
}

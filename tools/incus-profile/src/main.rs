fn main() -> std::process::ExitCode {
    incus_profile::main()
}

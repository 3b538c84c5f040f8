fn main() -> std::process::ExitCode {
    lxd_to_incus::main()
}

fn main() -> std::process::ExitCode {
    incus_net::main()
}

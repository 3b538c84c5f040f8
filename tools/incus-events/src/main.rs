fn main() -> std::process::ExitCode {
    incus_events::main()
}

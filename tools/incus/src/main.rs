fn main() -> std::process::ExitCode {
    incus::main()
}

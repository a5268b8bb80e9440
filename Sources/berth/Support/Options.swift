import ArgumentParser

/// Which app file, environment and ssh setup a command acts on.
struct TargetOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Path to the app file.")
    var config = "berth.yml"

    @Option(name: .shortAndLong, help: "Environment to act on, as named in the app file.")
    var env = "production"

    @Option(name: .customLong("ssh-config"),
            help: ArgumentHelp("An ssh config file passed to ssh as -F (default: BERTH_SSH_CONFIG, else ~/.ssh/config).",
                               valueName: "file"))
    var sshConfig: String?

    @Option(name: .customLong("host"), help: ArgumentHelp("Act on this host only (repeatable).", valueName: "name"))
    var onlyHosts: [String] = []
}

/// How results are printed.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON lines (events, then one summary object) instead of human progress.")
    var json = false
}

import Foundation

/// A child process started with `posix_spawn` and a clean signal state.
///
/// Foundation's `Process` on Linux passes the spawning thread's signal mask on to the child, and
/// Dispatch's threads block SIGTERM, SIGINT and SIGHUP: a mosquitto or meltwatch started that way
/// ignores SIGTERM forever. Here the mask is emptied and those signals reset to their defaults,
/// as a shell or systemd would start them.
public final class SpawnedProcess: @unchecked Sendable {
    // @unchecked: `status` is guarded by `lock`; `pid` is immutable.
    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable` with `arguments`; stdout and stderr go to `output` (appended), stdin is /dev/null.
    public init(executable: String, arguments: [String], output: String) throws {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attr, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attr, argv, environ)
        guard rc == 0 else { throw TestKitError("posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// True until the child has exited (and been reaped).
    public var isRunning: Bool { exitStatus == nil }

    /// The exit code (128 + signal when killed by a signal), or nil while running.
    public var exitStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
        let signal = raw & 0x7F
        status = signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
        return status
    }

    /// Sends a signal (if still running).
    public func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits for exit up to `timeoutSeconds`; the exit status, or nil on timeout.
    public func waitForExit(timeoutSeconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if let s = exitStatus { return s }
            usleep(10_000)
        }
        return exitStatus
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = waitForExit(timeoutSeconds: 5)
        }
    }
}

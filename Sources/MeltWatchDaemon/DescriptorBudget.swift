import Glibc
import Logging

/// The process's file descriptors, shared between the duty listener's connections and everything
/// else the daemon must keep doing: journal segments and their directory, the outbox and cursors,
/// the broker links (ingest and the alarm topic), webhook and robot connections, the systemd
/// notification socket, the event loops' own descriptors.
///
/// A service gets a soft limit of 1 024 by default. With no bound on the duty listener, idle TCP
/// connections from anyone who can reach it took them all: the daemon trapped at ~1 260 (a Swift
/// runtime failure on a descriptor it could not get), and before that the watchdog ping and segment
/// rotation failed. So: raise the soft limit to what `duty.max_connections` plus ``reserved`` needs
/// (as far as the hard limit allows; the unit sets `LimitNOFILE=` too), and if it cannot, take fewer
/// connections, never fewer descriptors for the daemon's own work.
enum DescriptorBudget {
    /// Descriptors kept for the daemon's own work, whatever the listener holds.
    static let reserved = 256

    /// The connections the duty listener may hold: `wanted`, or fewer (at least 8, with a warning)
    /// when the descriptor limit cannot be raised far enough.
    static func reserve(connections wanted: Int, logger: Logger) -> Int {
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return wanted }
        let needed = rlim_t(wanted + reserved)
        if limit.rlim_cur < needed {
            var raised = rlimit(rlim_cur: min(limit.rlim_max, needed), rlim_max: limit.rlim_max)
            if setrlimit(resource, &raised) == 0 {
                logger.info("raised the descriptor limit for the duty listener", metadata: [
                    "limit.nofile_was": "\(limit.rlim_cur)", "limit.nofile": "\(raised.rlim_cur)",
                ])
                limit = raised
            }
        }
        let available = Int(clamping: limit.rlim_cur) - reserved
        guard available < wanted else { return wanted }
        let granted = max(8, available)
        logger.warning("the descriptor limit is below duty.max_connections plus the daemon's own: the duty listener takes fewer connections", metadata: [
            "limit.nofile": "\(limit.rlim_cur)", "limit.nofile_max": "\(limit.rlim_max)", "duty.max_connections": "\(wanted)",
            "duty.connections_granted": "\(granted)", "limit.reserved": "\(reserved)",
        ])
        return granted
    }
}

import Foundation
import Logging
import MeltWatchAlarms
import MeltWatchJournal
import ServiceLifecycle

/// Re-reads the sealed journal segments in the background — shortly after start, then daily — and
/// raises `journal-integrity` when a record's checksum no longer holds (a disk that rots quietly).
/// Start-up recovery checks only the segment being written; this covers the rest, which nothing
/// else reads until someone replays or reports.
final class JournalAudit: Service {
    private let directory: String
    private let inbox: ActionInbox
    private let logger: Logger
    private let firstAfter: Duration
    private let interval: Duration

    init(directory: String, inbox: ActionInbox, logger: Logger, firstAfter: Duration = .seconds(5), interval: Duration = .seconds(86_400)) {
        self.directory = directory
        self.inbox = inbox
        self.logger = logger
        self.firstAfter = firstAfter
        self.interval = interval
    }

    func run() async throws {
        var wait = firstAfter
        var reported: Set<String> = []
        while await sleepUnlessStopping(wait) {
            wait = interval
            // Reading gigabytes blocks: on a thread of its own, not on the cooperative pool.
            let directory = directory
            let result: Result<JournalReader.Verification, JournalError> = await withCheckedContinuation { done in
                Thread {
                    let reader = JournalReader(directory: directory)
                    done.resume(returning: Result { () throws(JournalError) in
                        // The newest segment is being written: the next audit covers it once sealed.
                        try reader.verify(segmentsBelow: try reader.segments().max() ?? 0)
                    })
                }.start()
            }
            switch result {
            case .success(let v):
                if let problem = v.problem {
                    logger.critical("journal audit: damaged record in a sealed segment", metadata: ["journal.problem": "\(problem)"])
                    guard reported.insert(problem.path).inserted else { continue }
                    inbox.submit(.system(rule: "journal-integrity", raise: true, subject: problem.path,
                                         message: "日志完整性受损：\(problem)，原文件保留为证据 (journal damaged in a sealed segment; kept as evidence)"))
                } else {
                    logger.info("journal audit: sealed segments verified", metadata: [
                        "journal.segments": "\(v.segments)", "journal.records": "\(v.records)", "journal.bytes": "\(v.bytes)",
                    ])
                }
            case .failure(let error):
                logger.error("journal audit could not read the journal", metadata: ["journal.error": "\(error)"])
            }
        }
    }

    /// Sleeps `duration`; false as soon as graceful shutdown begins.
    private func sleepUnlessStopping(_ duration: Duration) async -> Bool {
        let end = ContinuousClock.now.advanced(by: duration)
        while ContinuousClock.now < end {
            if Task.isShuttingDownGracefully || Task.isCancelled { return false }
            try? await Task.sleep(for: min(.milliseconds(250), ContinuousClock.now.duration(to: end)))
        }
        return !Task.isShuttingDownGracefully
    }
}

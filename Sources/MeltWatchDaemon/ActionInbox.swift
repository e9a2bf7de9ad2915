import MeltWatchAlarms
import MeltWatchCore
import NIOConcurrencyHelpers

/// Alarm actions on their way into the ordered stream: the duty API (any thread) submits, the ingest
/// thread journals each one and puts a ticket in the ring at that point, the engine thread takes it
/// back by ticket, applies it to the alarm book and answers the caller once the events are stored.
final class ActionInbox: Sendable {
    typealias Reply = @Sendable (Result<AlarmRecord?, AlarmActionError>) -> Void

    struct Held {
        var action: AlarmAction
        var time: EventTime
        var reply: Reply?
    }

    private struct State {
        var queue: [(ticket: Int, action: AlarmAction, reply: Reply?)] = []
        var held: [Int: Held] = [:]
        var nextTicket = 1
        var closed: AlarmActionError?
    }

    private let state = NIOLockedValueBox(State())

    /// Queues an action; `reply` (optional) gets the outcome on the engine thread.
    func submit(_ action: AlarmAction, reply: Reply? = nil) {
        let refused = state.withLockedValue { s -> AlarmActionError? in
            if let closed = s.closed { return closed }
            s.queue.append((s.nextTicket, action, reply))
            s.nextTicket += 1
            return nil
        }
        if let refused { reply?(.failure(refused)) }
    }

    /// Submits and waits for the outcome, at most `timeout`.
    func perform(_ action: AlarmAction, timeout: Duration = .seconds(5)) async -> Result<AlarmRecord?, AlarmActionError> {
        let box = ReplyBox()
        submit(action) { box.resolve($0) }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let result = box.result { return result }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return box.result ?? .failure(AlarmActionError(.unavailable, "the daemon did not apply the action within \(timeout) (journal or engine stalled)"))
    }

    /// Ingest thread: takes the queued actions, stamped with `time`, to journal them.
    func drain(at time: EventTime) -> [(ticket: Int, action: AlarmAction)] {
        state.withLockedValue { s in
            guard !s.queue.isEmpty else { return [] }
            let taken = s.queue
            s.queue.removeAll()
            for q in taken { s.held[q.ticket] = Held(action: q.action, time: time, reply: q.reply) }
            return taken.map { ($0.ticket, $0.action) }
        }
    }

    /// Engine thread: the action behind a ticket.
    func take(_ ticket: Int) -> Held? {
        state.withLockedValue { $0.held.removeValue(forKey: ticket) }
    }

    /// Refuses everything from now on (the journal failed) and answers whoever waits.
    func close(_ error: AlarmActionError) {
        let waiting = state.withLockedValue { s -> [Reply] in
            s.closed = error
            let replies = s.queue.compactMap(\.reply) + s.held.values.compactMap(\.reply)
            s.queue.removeAll()
            s.held.removeAll()
            return replies
        }
        for reply in waiting { reply(.failure(error)) }
    }
}

/// A one-shot result slot shared between the engine thread and a waiting request.
private final class ReplyBox: Sendable {
    private let slot = NIOLockedValueBox<Result<AlarmRecord?, AlarmActionError>?>(nil)
    func resolve(_ r: Result<AlarmRecord?, AlarmActionError>) { slot.withLockedValue { $0 = r } }
    var result: Result<AlarmRecord?, AlarmActionError>? { slot.withLockedValue { $0 } }
}

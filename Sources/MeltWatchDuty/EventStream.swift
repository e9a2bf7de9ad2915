import HTTPTypes
import Hummingbird
import MeltWatchAlarms
import MeltWatchCore
import NIOCore

/// `GET /api/events`: the stored alarm events as Server-Sent Events.
///
/// Each event is `id: <sequence>` / `event: alarm` / `data: <contract JSON>`; the browser's
/// EventSource sends the last id back as `Last-Event-ID` when it reconnects and the stream resumes
/// right after it, so a console that lost its connection misses nothing the log still holds (the
/// latest ``EventLog/retained`` events; older ones, or ones a stalled client fell behind, are
/// announced as `event: gap` with `missed_before`). Without it, the stream starts with the next event. An
/// `event: heartbeat` every period lets the client tell a quiet stream from a dead one.
enum EventStream {
    static func response(log: EventLog, resumeAfter: Int64?, heartbeat: Duration, clock: any ServiceClock) -> Response {
        let headers: HTTPFields = [
            .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache",
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await stream(log: log, resumeAfter: resumeAfter, heartbeat: heartbeat, clock: clock) { text in
                try await writer.write(ByteBuffer(string: text))
            }
            try await writer.finish(nil)
        })
    }

    /// The stream itself, writing each chunk with `write` until the log's streams end (the daemon
    /// stops) or a write throws (the client went).
    static func stream(log: EventLog, resumeAfter: Int64?, heartbeat: Duration, clock: any ServiceClock,
                       write: (String) async throws -> Void) async throws {
        var lastWrite = clock.elapsed
        let (bell, doorbell) = log.subscribe()
        defer { log.unsubscribe(bell) }
        var bells = doorbell.makeAsyncIterator()
        var cursor = resumeAfter ?? log.lastSequence
        try await write("retry: 2000\n\n")
        while !Task.isCancelled {
            let (batch, first) = log.recent(after: cursor)
            if let first, cursor + 1 < first {
                // Older events are no longer held, or this client fell behind what memory holds (a
                // stalled console): memory is not held for it. Say what it missed, go on from what is.
                try await write("event: gap\ndata: {\"missed_before\":\(first)}\n\n")
                cursor = first - 1
                continue
            }
            if !batch.isEmpty {
                var text = ""
                for s in batch { text += "id: \(s.sequence)\nevent: \(s.envelope.hazard == nil ? "alarm" : "hazard")\ndata: \(s.envelope.body)\n\n" }
                try await write(text)
                cursor = batch.last!.sequence
                lastWrite = clock.elapsed
                continue
            }
            // The daemon is stopping: everything stored was sent above; end so shutdown can finish.
            if log.streamsHaveEnded { break }
            if clock.elapsed - lastWrite >= heartbeat {
                // A write to a closed connection throws: this is also how a gone client is noticed.
                try await write("event: heartbeat\ndata: {\"time\":\"\(clock.wall.rfc3339)\"}\n\n")
                lastWrite = clock.elapsed
            }
            // The log rings on every append, and the delivery service rings it every second.
            guard await bells.next() != nil else { break }
        }
    }
}

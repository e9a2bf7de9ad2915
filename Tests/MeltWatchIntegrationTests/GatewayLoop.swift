import Foundation
import MeltWatchMQTT

/// A test gateway that keeps publishing: every 200 ms, each of its topics' current value as
/// MeltWatch's own JSON with the event time now, until stopped. Topics and values change while it runs.
final class GatewayLoop: @unchecked Sendable {
    // @unchecked: `values` is guarded by `lock`; `task` is set once in init and cancelled in `stop`.
    private let lock = NSLock()
    private var values: [String: Double] = [:]
    private var task: Task<Void, Never>?

    init(_ publisher: Publisher, every interval: Duration = .milliseconds(200)) {
        task = Task.detached { [self] in
            while !Task.isCancelled {
                let now = nowMilliseconds()
                for (topic, v) in current { try? publisher.publish(topic: topic, text: "{\"ts\":\(now),\"v\":\(v)}") }
                try? await Task.sleep(for: interval)
            }
        }
    }

    private var current: [(String, Double)] { lock.withLock { values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } } }

    /// Publishes `value` on `topic` from now on.
    func set(_ topic: String, _ value: Double) { lock.withLock { values[topic] = value } }

    /// Publishes exactly these topics from now on (new ones at `value`); the others fall silent.
    func only(_ topics: [String], value: Double = 2) {
        lock.withLock { values = Dictionary(uniqueKeysWithValues: topics.map { ($0, values[$0] ?? value) }) }
    }

    /// Stops publishing `topic`.
    func remove(_ topic: String) { lock.withLock { _ = values.removeValue(forKey: topic) } }

    func stop() { task?.cancel() }

    deinit { task?.cancel() }
}

extension Harness {
    /// A `plants:` section of CO detectors (GB 6222 preset) with `stale_after_s`: each plant its id,
    /// name, optional industry and detector ids.
    static func coDetectors(_ plants: [(id: String, name: String, industry: String?, detectors: [String])], staleAfterSeconds: Int) -> String {
        var yaml = "plants:\n"
        for p in plants {
            yaml += "  - id: \(p.id)\n    name: \(p.name)\n"
            if let industry = p.industry { yaml += "    industry: \(industry)\n" }
            yaml += "    equipment:\n"
            for d in p.detectors {
                yaml += "      - id: \(d)\n        template: steel.co-detector\n        params: { preset: gb6222, stale_after_s: \(staleAfterSeconds) }\n"
            }
        }
        return yaml + "\n"
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeltWatchCore
import MeltWatchDecode

/// The host's sessions as written into the journal: JSON, keyed by names only (edge nodes,
/// devices, metric names), never by signal, so that a reload that changes the bindings restores it.
struct SparkplugHostState: Codable, Equatable {
    static let currentFormat = "meltwatch.sparkplug-host/1"

    var format = Self.currentFormat
    var group: String
    var nodes: [Node]

    struct Node: Codable, Equatable {
        var edge: String
        var lastRebirthRequest: Int64?
        var session: Session?
    }

    struct Session: Codable, Equatable {
        var bdSeq: UInt64?
        var lastSeq: UInt8
        var missing: [UInt8]
        var disorder: Bool
        var gapSince: Int64?
        var metrics: [Metric]
        var devices: [Device]
    }

    struct Device: Codable, Equatable {
        var name: String
        var metrics: [Metric]
    }

    struct Metric: Codable, Equatable {
        var name: String
        var alias: UInt64?
        var datatype: UInt32
    }
}

extension SparkplugHost {
    /// The whole session table (births, `bdSeq`, `seq` and gap, rebirth-request times). Always
    /// non-nil, an empty table included: the host is stateful. Deterministic: nodes and devices in
    /// name order, metrics in birth order, keys sorted.
    public func encodeState() -> [UInt8]? {
        let state = SparkplugHostState(group: groupID, nodes: nodes.keys.sorted().map { edge in
            let entry = nodes[edge]!
            return SparkplugHostState.Node(
                edge: edge, lastRebirthRequest: entry.lastRebirthRequest?.milliseconds,
                session: entry.session.map { s in
                    SparkplugHostState.Session(
                        bdSeq: s.bdSeq, lastSeq: s.sequence.last, missing: s.sequence.missing.members,
                        disorder: s.sequence.disorder, gapSince: s.sequence.gapSince?.milliseconds,
                        metrics: Self.records(s.node),
                        devices: s.devices.keys.sorted().map { SparkplugHostState.Device(name: $0, metrics: Self.records(s.devices[$0]!)) }
                    )
                }
            )
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Plain strings and integers only: encoding cannot fail.
        return (try? encoder.encode(state)).map { Array($0) } ?? []
    }

    /// Takes over a state ``encodeState()`` wrote (this configuration's or an earlier one's),
    /// resolving its metrics against this host's bindings. All or nothing: on any error the host
    /// keeps what it had. Checks what a birth is checked for (unique names and aliases, the limits),
    /// so a damaged state cannot make the host read an alias as the wrong metric.
    public func restoreState(_ bytes: [UInt8]) throws(DecodeError) {
        func bad(_ detail: String) -> DecodeError {
            // The journal's gateway-state framing reports its errors under the same reason.
            DecodeError(reason: .malformedProtobuf, detail: "Sparkplug host state: \(detail)")
        }
        let state: SparkplugHostState
        do {
            state = try JSONDecoder().decode(SparkplugHostState.self, from: Data(bytes))
        } catch {
            throw bad("not readable: \(error)")
        }
        guard state.format == SparkplugHostState.currentFormat else { throw bad("unknown format \(logQuoted(state.format))") }
        guard state.group == groupID else { throw bad("is of group \(logQuoted(state.group)), this host's is \(logQuoted(groupID))") }
        guard state.nodes.count <= limits.edgeNodes else { throw bad("\(state.nodes.count) edge nodes, more than \(limits.edgeNodes)") }

        var restored: [String: NodeEntry] = [:]
        var metrics = 0
        var nameBytes = 0
        for n in state.nodes {
            guard restored[n.edge] == nil else { throw bad("edge node \(logQuoted(n.edge)) appears twice") }
            var entry = NodeEntry(lastRebirthRequest: n.lastRebirthRequest.map(EventTime.init(milliseconds:)))
            if let s = n.session {
                let session = try restoreSession(s, edge: n.edge).mapError { bad($0.detail) }.get()
                metrics += session.metricCount
                nameBytes += session.nameBytes
                entry.session = session
            }
            restored[n.edge] = entry
        }
        guard metrics <= limits.metricsTotal, nameBytes <= limits.nameBytesTotal else {
            throw bad("\(metrics) metrics (\(nameBytes) name bytes), more than the limits")
        }
        nodes = restored
        heldMetrics = metrics
        heldNameBytes = nameBytes
    }

    private func restoreSession(_ s: SparkplugHostState.Session, edge: String) -> Result<NodeSession, DecodeError> {
        Result { () throws(DecodeError) -> NodeSession in
            let what = "edge node \(logQuoted(edge))"
            guard s.metrics.count <= limits.metricsPerBirth else { throw DecodeError(reason: .oversize, detail: "\(what): too many metrics") }
            let node = try buildScope(Self.declarations(s.metrics), edge: edge, device: nil, aliasOwner: { _ in nil }, where: what)
            var missing = SequenceSet()
            for m in s.missing { missing.insert(m) }
            let sequence = SequenceTracker(
                last: s.lastSeq, missing: missing, disorder: s.disorder, gapSince: s.gapSince.map(EventTime.init(milliseconds:))
            )
            let session = NodeSession(bdSeq: s.bdSeq, sequence: sequence, node: node)
            guard s.devices.count <= limits.devicesPerNode else { throw DecodeError(reason: .oversize, detail: "\(what): too many devices") }
            for d in s.devices {
                let where_ = "device \(logQuoted(edge + "/" + d.name))"
                guard !d.name.isEmpty, session.devices[d.name] == nil else { throw DecodeError(reason: .aliasCollision, detail: "\(where_) is empty or twice") }
                guard d.metrics.count <= limits.metricsPerBirth else { throw DecodeError(reason: .oversize, detail: "\(where_): too many metrics") }
                let scope = try buildScope(
                    Self.declarations(d.metrics), edge: edge, device: d.name,
                    aliasOwner: { a in session.aliases[a].map { $0.device ?? "the node" } }, where: where_
                )
                session.setDevice(d.name, scope)
            }
            return session
        }
    }

    private static func records(_ scope: MetricScope) -> [SparkplugHostState.Metric] {
        scope.metrics.map { SparkplugHostState.Metric(name: $0.name, alias: $0.alias, datatype: $0.datatype) }
    }

    private static func declarations(_ records: [SparkplugHostState.Metric]) -> [MetricDeclaration] {
        records.map { MetricDeclaration(name: $0.name, alias: $0.alias, datatype: $0.datatype) }
    }
}

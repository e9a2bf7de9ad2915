import Foundation
import MeltWatchCore
import MeltWatchRules
import Yams

extension Validator {
    mutating func config(_ root: Node) -> MeltWatchConfig? {
        guard let top = mapping(root, at: "config", allowed: ["broker", "journal", "duty", "plants", "shard", "sparkplug", "hazards"]) else { return nil }
        guard let brokerNode = top["broker"] else {
            error(root, "broker is required (broker.url, broker.client_id)")
            return nil
        }
        let broker = self.broker(brokerNode)
        let journal = self.journal(top["journal"])
        let duty = self.duty(top["duty"])
        guard let plantsNode = top["plants"] else {
            error(root, "plants is required: a list of plants with their equipment")
            return nil
        }
        let plants = self.plants(plantsNode)
        let shard = top["shard"].flatMap { self.shard($0) }
        guard let broker, let duty else { return nil }
        var config = MeltWatchConfig(broker: broker, journal: journal, duty: duty, plants: plants)
        config.sparkplugHostID = top["sparkplug"].flatMap { self.sparkplugHost($0) }
        if let node = top["hazards"], let hazards = self.hazards(node) { config.hazards = hazards }
        // Every instance checks the whole plant list alike, then keeps its share.
        crossChecks(config, plantsNode: plantsNode, dutyNode: top["duty"] ?? root)
        if let shard {
            config.shard = shard
            for p in config.plants.indices {
                let plant = config.plants[p].id
                config.plants[p].equipment.removeAll { !shard.owns(plant: plant, equipment: $0.id) }
            }
        }
        return config
    }

    /// `sparkplug: { host_id: meltwatch-1 }`: MeltWatch's id as a Sparkplug Primary Host.
    private mutating func sparkplugHost(_ node: Node) -> String? {
        guard let m = mapping(node, at: "sparkplug", allowed: ["host_id"]) else { return nil }
        guard let id = string(m["host_id"], at: "sparkplug.host_id") else { return nil }
        guard Validator.isSparkplugID(id) else {
            error(m["host_id"], "sparkplug.host_id '\(id)' must be a Sparkplug id: not empty, without '/', '+' or '#'")
            return nil
        }
        return id
    }

    /// `hazards: { campaign_start, inspector, bypass_min, device_min }`.
    private mutating func hazards(_ node: Node) -> MeltWatchConfig.Hazards? {
        guard let m = mapping(node, at: "hazards", allowed: ["campaign_start", "inspector", "bypass_min", "device_min"]) else { return nil }
        var h = MeltWatchConfig.Hazards()
        if let n = m["campaign_start"], let text = string(n, at: "hazards.campaign_start") {
            guard let date = BeijingDate(parsing: text) else {
                error(n, "hazards.campaign_start '\(text)' must be a date, YYYY-MM-DD (Beijing time)")
                return nil
            }
            h.campaignStart = date
        }
        if let n = m["inspector"], let text = string(n, at: "hazards.inspector") {
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                error(n, "hazards.inspector must name the 检查单位 (e.g. 安全环保部)")
                return nil
            }
            h.inspector = text
        }
        h.bypassMinutes = integer(m["bypass_min"], at: "hazards.bypass_min", default: 10, range: 1...1440, unit: "min")
        h.deviceMinutes = integer(m["device_min"], at: "hazards.device_min", default: 60, range: 1...1440, unit: "min")
        return h
    }

    /// `shard: { index: 0, count: 2 }`.
    private mutating func shard(_ node: Node) -> MeltWatchConfig.Shard? {
        guard let m = mapping(node, at: "shard", allowed: ["index", "count"]) else { return nil }
        guard m["count"] != nil, m["index"] != nil else {
            error(node, "shard needs index and count (this instance's number, from 0, and how many instances share the plants)")
            return nil
        }
        let count = integer(m["count"], at: "shard.count", default: 1, range: 1...64)
        let index = integer(m["index"], at: "shard.index", default: 0, range: 0...63)
        guard index < count else {
            error(m["index"], "shard.index is \(index); allowed: 0…\(count - 1) (shard.count is \(count))")
            return nil
        }
        return MeltWatchConfig.Shard(index: index, count: count)
    }

    private mutating func broker(_ node: Node) -> MeltWatchConfig.Broker? {
        let keys = ["url", "client_id", "qos", "username", "password_file", "tls", "password", "keepalive_s"]
        guard let m = mapping(node, at: "broker", allowed: keys) else { return nil }
        if let p = m["password"] {
            error(p, "broker.password: never a password inline; put it in a file and name it in broker.password_file")
        }
        let url = requiredString(m, "url", at: "broker", parent: node)
        var host = "", port: Int32 = 0, tls = false
        if let url {
            if let a = MeltWatchConfig.parseBrokerURL(url) {
                (host, port, tls) = a
            } else {
                error(m["url"], "broker.url '\(url)' is not mqtt://host:port or mqtts://host:port")
            }
        }
        let clientID = requiredString(m, "client_id", at: "broker", parent: node)
        if let id = clientID, id.isEmpty || id.utf8.count > 128 {
            error(m["client_id"], "broker.client_id must be 1 to 128 characters; it must stay fixed so the broker keeps our session")
        }
        if let q = m["qos"] {
            // QoS 1 only: the journal's fdatasync comes before the PUBACK, and the broker redelivers
            // what we did not acknowledge. QoS 0 is never redelivered; with QoS 2 libmosquitto 2.0
            // answers PUBREC before the message reaches us. Neither can keep the zero-loss promise.
            let why = "QoS 0 is never redelivered, and with QoS 2 libmosquitto 2.0 sends PUBREC before the message reaches MeltWatch: "
                + "neither keeps the zero-loss promise"
            if case .scalar(let s) = q, s.style == .plain, let i = q.int {
                if i != 1 { error(q, "broker.qos is \(i); allowed: 1 (\(why))") }
            } else {
                error(q, "broker.qos must be a whole number; allowed: 1 (\(why))")
            }
        }
        let qos = 1
        let username = string(m["username"], at: "broker.username")
        let passwordFile = readableFile(m["password_file"], at: "broker.password_file")
        var ca: String?, cert: String?, key: String?
        if let t = m["tls"], let tm = mapping(t, at: "broker.tls", allowed: ["ca_file", "cert_file", "key_file"]) {
            ca = readableFile(tm["ca_file"], at: "broker.tls.ca_file")
            cert = readableFile(tm["cert_file"], at: "broker.tls.cert_file")
            key = readableFile(tm["key_file"], at: "broker.tls.key_file")
            if ca == nil { error(t, "broker.tls.ca_file is required with tls") }
            if (cert == nil) != (key == nil) { error(t, "broker.tls: cert_file and key_file go together") }
        }
        if tls && ca == nil { error(m["url"], "broker.url is mqtts:// but broker.tls.ca_file is not set") }
        // A silent partition is known within twice the keepalive (10 s with the default).
        let keepAlive = integer(m["keepalive_s"], at: "broker.keepalive_s", default: 5, range: 2...60, unit: "seconds")
        guard let url, let clientID else { return nil }
        return .init(url: url, host: host, port: port, tls: tls, clientID: clientID, qos: Int32(qos), username: username,
                     passwordFile: passwordFile, caFile: ca, certFile: cert, keyFile: key, keepAliveSeconds: keepAlive)
    }

}

extension MeltWatchConfig {
    /// Parses a size as `journal.max_bytes` takes it: whole bytes, or a whole number followed by
    /// `KiB`, `MiB`, `GiB` or `TiB` (powers of 1024; a space before the unit is allowed). Nil when
    /// malformed or too large.
    public static func parseByteSize(_ text: String) -> UInt64? {
        let units: [(String, UInt64)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40)]
        var digits = Substring(text)
        var scale: UInt64 = 1
        if let (unit, factor) = units.first(where: { text.hasSuffix($0.0) }) {
            digits = digits.dropLast(unit.count)
            if digits.hasSuffix(" ") { digits = digits.dropLast() }
            scale = factor
        }
        guard !digits.isEmpty, digits.utf8.count <= 20, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let n = UInt64(digits) else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : bytes
    }

    /// A size as people write it: `1GiB`, `1536MiB`, `1000` (the largest unit that divides it).
    public static func formatByteSize(_ bytes: UInt64) -> String {
        for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] as [(String, UInt64)]
        where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return "\(bytes)"
    }

    /// Parses `mqtt://host[:port]` (default 1883) or `mqtts://host[:port]` (default 8883, TLS);
    /// `[::1]` for IPv6. Nil when malformed.
    public static func parseBrokerURL(_ url: String) -> (host: String, port: Int32, tls: Bool)? {
        let tls = url.hasPrefix("mqtts://")
        guard tls || url.hasPrefix("mqtt://") else { return nil }
        var rest = url.dropFirst(tls ? 8 : 7)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let (host, port) = hostPort(rest, defaultPort: tls ? 8883 : 1883), port > 0 else { return nil }
        return (host, Int32(port), tls)
    }

    /// Parses `duty.listen`: `host:port` or `[ipv6]:port`, port 0-65535 (0: any free port).
    public static func parseListen(_ listen: String) -> (host: String, port: Int)? {
        hostPort(Substring(listen), defaultPort: nil)
    }

    /// `host[:port]` or `[ipv6][:port]`: a host without spaces, slashes, `@` or (unbracketed) colons,
    /// a port of decimal digits only. Without a default port the port is required.
    private static func hostPort(_ text: Substring, defaultPort: Int?) -> (host: String, port: Int)? {
        var host = text, portText: Substring?
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
            guard host.contains(":") else { return nil }  // brackets are for IPv6 addresses only
        } else if let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        let port: Int
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let p = Int(portText), p <= 65535 else { return nil }
            port = p
        } else {
            guard let defaultPort else { return nil }
            port = defaultPort
        }
        guard !host.isEmpty, !host.contains(where: { $0 == "/" || $0 == "@" || $0 == "[" || $0 == "]" || $0.isWhitespace }) else {
            return nil
        }
        return (String(host), port)
    }
}

extension Validator {
    private mutating func journal(_ node: Node?) -> MeltWatchConfig.Journal {
        var j = MeltWatchConfig.Journal(dir: "/var/lib/meltwatch/journal", fsyncIntervalMilliseconds: 50, retentionDays: 400)
        let keys = ["dir", "fsync_interval_ms", "retention_days", "max_bytes", "min_free", "checkpoint_interval_s"]
        guard let node, let m = mapping(node, at: "journal", allowed: keys) else { return j }
        if let d = string(m["dir"], at: "journal.dir") { j.dir = d.hasPrefix("/") ? d : baseDirectory + "/" + d }
        j.fsyncIntervalMilliseconds = integer(m["fsync_interval_ms"], at: "journal.fsync_interval_ms", default: 50, range: 1...10_000, unit: "ms")
        j.retentionDays = integer(m["retention_days"], at: "journal.retention_days", default: 400, range: 1...36_500, unit: "days")
        j.maxBytes = byteSize(m["max_bytes"], at: "journal.max_bytes", minimum: 1 << 20)
        j.minFreeBytes = byteSize(m["min_free"], at: "journal.min_free", minimum: 0) ?? j.minFreeBytes
        j.checkpointIntervalSeconds = integer(m["checkpoint_interval_s"], at: "journal.checkpoint_interval_s", default: 60, range: 1...3600, unit: "s")
        return j
    }

    /// A size: whole bytes (`1073741824`) or a whole number with `KiB`, `MiB`, `GiB` or `TiB` (`100GiB`).
    private mutating func byteSize(_ node: Node?, at path: String, minimum: UInt64) -> UInt64? {
        guard let node else { return nil }
        let allowed = "a whole number of bytes, or with KiB, MiB, GiB or TiB (e.g. 100GiB)"
        guard case .scalar(let s) = node, node.null == nil || s.style != .plain else {
            error(node, "\(path) must be a size: \(allowed)")
            return nil
        }
        guard let bytes = MeltWatchConfig.parseByteSize(s.string) else {
            error(node, "\(path) is '\(s.string)'; allowed: \(allowed)")
            return nil
        }
        guard bytes >= minimum else {
            error(node, "\(path) is \(s.string); allowed: at least \(MeltWatchConfig.formatByteSize(minimum))")
            return nil
        }
        return bytes
    }

    private mutating func duty(_ node: Node?) -> MeltWatchConfig.Duty? {
        var d = MeltWatchConfig.Duty(listenHost: "127.0.0.1", listenPort: 8080, webhooks: [], mqttTopicPrefix: nil,
                                     heartbeatSeconds: 30, escalateAfterSeconds: 300, tokensFile: nil)
        guard let node else { return d }
        let keys = ["listen", "webhooks", "mqtt_topic_prefix", "heartbeat_s", "escalate_after_s", "tokens_file", "public_url", "max_connections", "channels"]
        guard let m = mapping(node, at: "duty", allowed: keys) else { return nil }
        if let listen = string(m["listen"], at: "duty.listen") {
            if let (host, port) = MeltWatchConfig.parseListen(listen) {
                d.listenHost = host
                d.listenPort = port
            } else {
                error(m["listen"], "duty.listen '\(listen)' must be host:port with a port 0-65535, e.g. 127.0.0.1:8080 or [::1]:8080")
            }
        }
        if let w = m["webhooks"] {
            if case .sequence(let seq) = w {
                for (i, item) in seq.enumerated() {
                    guard let wm = mapping(item, at: "duty.webhooks[\(i)]", allowed: ["url", "url_file", "secret_file"]) else { continue }
                    let path = "duty.webhooks[\(i)]"
                    var url: String
                    var urlFile: String?
                    switch (wm["url"], wm["url_file"]) {
                    case (_?, _?):
                        error(item, "\(path) has both url and url_file; give one (url_file when the URL carries a token)")
                        continue
                    case (nil, let fileNode?):
                        guard let file = readableFile(fileNode, at: "\(path).url_file"), let data = FileManager.default.contents(atPath: file) else { continue }
                        url = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                        urlFile = file
                        guard !url.contains("\n") else {
                            error(fileNode, "\(path).url_file \(file) must hold one URL on one line")
                            continue
                        }
                    default:
                        guard let inline = requiredString(wm, "url", at: path, parent: item) else { continue }
                        url = inline
                    }
                    if !(url.hasPrefix("http://") || url.hasPrefix("https://")) || url.count < 10 {
                        // The URL from a file is not repeated: it may carry the endpoint's token.
                        error(wm["url"] ?? wm["url_file"], urlFile == nil ? "\(path).url '\(url)' must be an http:// or https:// URL"
                                                                         : "\(path).url_file \(urlFile!) must hold an http:// or https:// URL")
                    }
                    d.webhooks.append(.init(url: url, secretFile: readableFile(wm["secret_file"], at: "\(path).secret_file"), urlFile: urlFile))
                }
            } else {
                error(w, "duty.webhooks must be a list of {url, secret_file}")
            }
        }
        if let p = string(m["mqtt_topic_prefix"], at: "duty.mqtt_topic_prefix") {
            if Validator.isLiteralTopic(p) { d.mqttTopicPrefix = p } else {
                error(m["mqtt_topic_prefix"], "duty.mqtt_topic_prefix '\(p)' must be a topic without + or # wildcards")
            }
        }
        d.heartbeatSeconds = integer(m["heartbeat_s"], at: "duty.heartbeat_s", default: 30, range: 1...3600, unit: "s")
        d.escalateAfterSeconds = integer(m["escalate_after_s"], at: "duty.escalate_after_s", default: 300, range: 1...86_400, unit: "s")
        d.tokensFile = readableFile(m["tokens_file"], at: "duty.tokens_file")
        d.maxConnections = integer(m["max_connections"], at: "duty.max_connections", default: 256, range: 8...16_384, unit: "")
        d.channels = channels(m["channels"])
        if let file = d.tokensFile, FileManager.default.isReadableFile(atPath: file) {
            do {
                _ = try OperatorTokens.load(file)
            } catch {
                self.error(m["tokens_file"], "duty.tokens_file: \(error)")
            }
        }
        if m["tokens_file"] == nil, !d.listensOnLoopbackOnly {
            // Off loopback, anyone who reaches the port could acknowledge, shelve and take detectors
            // out of service under any name (contract §5, "Who may write").
            error(m["listen"] ?? node, "duty.listen '\(d.listenHost):\(d.listenPort)' is reachable from other machines: duty.tokens_file is required (lines `<token> <operator name> [operator|manager]`)")
        }
        if let url = string(m["public_url"], at: "duty.public_url") {
            if let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = c.host, !host.isEmpty,
               c.user == nil, c.password == nil, c.query == nil, c.fragment == nil {
                d.publicURL = url
            } else {
                error(m["public_url"], "duty.public_url '\(url)' must be an http:// or https:// URL without credentials, query or fragment, e.g. https://duty.plant.example/")
            }
        }
        return d
    }

    /// `duty.channels`: chat robots, each `kind`, `url_file` (the URL carries the robot's token, so
    /// never inline, and never repeated in a message), optional `secret_file`, `min_priority`, `per_minute`.
    private mutating func channels(_ node: Node?) -> [MeltWatchConfig.Channel] {
        guard let node else { return [] }
        guard case .sequence(let seq) = node else {
            error(node, "duty.channels must be a list of {kind, url_file, secret_file, min_priority, per_minute}")
            return []
        }
        var out: [MeltWatchConfig.Channel] = []
        for (i, item) in seq.enumerated() {
            let path = "duty.channels[\(i)]"
            guard let m = mapping(item, at: path, allowed: ["kind", "url", "url_file", "secret_file", "min_priority", "per_minute"]) else { continue }
            if m["url"] != nil {
                error(m["url"], "\(path).url: a robot's URL carries its token; put it in a file and give url_file")
                continue
            }
            guard let word = requiredString(m, "kind", at: path, parent: item) else { continue }
            guard let kind = MeltWatchConfig.Channel.Kind(rawValue: word) else {
                error(m["kind"], "\(path).kind '\(word)' must be one of \(MeltWatchConfig.Channel.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            guard m["url_file"] != nil else {
                error(item, "\(path).url_file is required: the file holding the robot's URL")
                continue
            }
            guard let file = readableFile(m["url_file"], at: "\(path).url_file"), let data = FileManager.default.contents(atPath: file) else { continue }
            let url = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard url.hasPrefix("https://") || url.hasPrefix("http://"), !url.contains("\n"), url.count >= 10 else {
                error(m["url_file"], "\(path).url_file \(file) must hold the robot's http(s):// URL on one line")
                continue
            }
            let secretFile = readableFile(m["secret_file"], at: "\(path).secret_file")
            if kind == .wecom, m["secret_file"] != nil {
                error(m["secret_file"], "\(path).secret_file: WeCom group robots do not sign; the key in the URL is all")
            }
            var channel = MeltWatchConfig.Channel(kind: kind, url: url, urlFile: file, secretFile: secretFile)
            if let p = string(m["min_priority"], at: "\(path).min_priority") {
                if let priority = AlarmEvent.Priority(rawValue: p) { channel.minPriority = priority } else {
                    error(m["min_priority"], "\(path).min_priority '\(p)' must be one of emergency, high, medium, low")
                }
            }
            channel.perMinute = integer(m["per_minute"], at: "\(path).per_minute", default: 20, range: 1...100, unit: "messages a minute")
            out.append(channel)
        }
        return out
    }

    private mutating func plants(_ node: Node) -> [MeltWatchConfig.Plant] {
        guard case .sequence(let seq) = node else {
            error(node, "plants must be a list of plants (id, name, equipment)")
            return []
        }
        var seen: Set<String> = []
        var out: [MeltWatchConfig.Plant] = []
        for (i, item) in seq.enumerated() {
            let path = "plants[\(i)]"
            guard let m = mapping(item, at: path, allowed: ["id", "name", "industry", "region", "equipment", "gateways"]) else { continue }
            guard let id = requiredString(m, "id", at: path, parent: item) else { continue }
            if !Validator.isIdentifier(id) { error(m["id"], "\(path).id '\(id)' must match [a-z0-9-]+") }
            if !seen.insert(id).inserted { error(m["id"], "\(path).id '\(id)' is used by another plant; plant ids must be unique") }
            let name = string(m["name"], at: "\(path).name") ?? id
            let gateways = self.gateways(m["gateways"], at: "plants.\(id).gateways")
            var equipment: [MeltWatchConfig.Equipment] = []
            if let eqNode = m["equipment"] {
                if case .sequence(let eqs) = eqNode {
                    var seenEq: Set<String> = []
                    for (k, e) in eqs.enumerated() {
                        if let eq = self.equipment(e, gateways: gateways, at: "plants.\(id).equipment[\(k)]") {
                            if !seenEq.insert(eq.id).inserted {
                                error(e, "plants.\(id).equipment '\(eq.id)' is given twice; equipment ids must be unique within a plant")
                            }
                            equipment.append(eq)
                        }
                    }
                } else {
                    error(eqNode, "\(path).equipment must be a list")
                }
            } else {
                error(item, "\(path).equipment is required: the equipment this plant monitors")
            }
            var industry = Industry.inferred(fromTemplates: equipment.map(\.template.id))
            if let node = m["industry"], let word = string(node, at: "\(path).industry") {
                if let i = Industry(rawValue: word) {
                    industry = i
                } else {
                    let allowed = Industry.allCases.map(\.rawValue).joined(separator: ", ")
                    error(node, "\(path).industry '\(word)' is not one of \(allowed) (the ledger's 行业类别; it decides the CO detectors' basis)")
                }
            }
            let region = string(m["region"], at: "\(path).region")
            out.append(.init(id: id, name: name, industry: industry, region: region, equipment: equipment, gateways: gateways))
        }
        return out
    }
}

import BerthCore
import Glibc

/// A catch-up's check of what the release store served, when the deploying controller signs
/// plans (`CatchUpSource.signer`): the plan's text must carry a good `ssh-keygen -Y` signature
/// by the key that a deploy installed in `catch-up/allowed_signers`, be this host's plan of this
/// app and environment, and name the release `desired.json` names. The plan that runs is the one
/// decoded from the signed text, never the store's own copy.
struct PlanVerification {
    let settings: CatchUpSettings

    enum Verdict: Equatable {
        case trusted(DeployPlan)
        case refused(String)
        /// A good signature, but older than the newest plan this host ran (a deploy with `--host`,
        /// one that did not publish, or an old plan served again): nothing to do.
        case stale(issued: String, newest: String)
    }

    static func allowedSignersFile(_ layout: HostLayout) -> String { "\(layout.catchUpDir)/allowed_signers" }
    /// When the newest plan this host ran was made (written by every deploy, rollback and catch-up).
    static func issuedAtFile(_ layout: HostLayout) -> String { "\(layout.catchUpDir)/issued-at" }

    func check(_ answer: CatchUpAnswer) async -> Verdict {
        guard let text = answer.signedPlan, let signature = answer.signature else {
            return .refused("it came without a signature")
        }
        let layout = settings.layout
        let allowed = Self.allowedSignersFile(layout)
        guard Files.kind(allowed) == .file else { return .refused("\(allowed) is missing; a deploy writes it") }
        let signatureFile = "\(layout.catchUpDir)/plan.json.sig"
        do {
            try Files.writeAtomically(signatureFile, signature, mode: 0o600)
        } catch {
            return .refused("\(error)")
        }
        defer { try? Files.remove(signatureFile) }
        let verified = await Commands.run(PlanSigning.verify(allowedSigners: allowed, signatureFile: signatureFile),
                                          feeding: Array(text.utf8))
        guard verified.succeeded else {
            return .refused("ssh-keygen: \(verified.complaint.isEmpty ? "exit \(verified.status)" : verified.complaint)")
        }
        guard let plan = try? EngineJSON.decode(DeployPlan.self, from: Array(text.utf8)) else {
            return .refused("the signed text is not a deploy plan")
        }
        guard plan.app == settings.app, plan.env == settings.env, plan.host == settings.host else {
            return .refused("the signed plan is for \(plan.app) (\(plan.env)) on \(plan.host), not for this host")
        }
        let newest = ((try? Files.readString(Self.issuedAtFile(layout))) ?? nil)?.split(separator: "\n").first.map(String.init)
        if let newest {
            guard let issued = plan.catchUp?.issuedAt else { return .refused("the signed plan has no date") }
            if Self.isOlder(issued, than: newest) { return .stale(issued: issued, newest: newest) }
        }
        guard let release = plan.release, release.id == answer.desired?.release.id else {
            return .refused("desired.json names release \(answer.desired?.release.id ?? "none") but the signed plan names \(plan.release?.id ?? "none")")
        }
        return .trusted(plan)
    }
}

extension PlanVerification {
    /// Writes (or, without a signer, removes) `catch-up/allowed_signers`: run by every deploy over
    /// its authenticated ssh session, so the key a catch-up trusts comes from the controller only.
    /// Also records when the plan that ran was made (`issuedAt`): later catch-ups accept no older one.
    static func install(signer: String?, issuedAt: String?, layout: HostLayout) throws(SystemCallError) {
        let file = allowedSignersFile(layout)
        guard let signer else {
            try Files.remove(file)
            try Files.remove(issuedAtFile(layout))
            return
        }
        let text = PlanSigning.allowedSigners(publicKey: signer)
        if try Files.readString(file) != text { try Files.writeAtomically(file, text, mode: 0o600) }
        if let issuedAt, try Files.readString(issuedAtFile(layout)) != issuedAt + "\n" {
            try Files.writeAtomically(issuedAtFile(layout), issuedAt + "\n", mode: 0o600)
        }
    }

    /// ISO 8601 UTC times compare as text once both have the same shape; fractions are padded.
    static func isOlder(_ time: String, than other: String) -> Bool {
        func key(_ text: String) -> String {
            let trimmed = text.hasSuffix("Z") ? String(text.dropLast()) : text
            let parts = trimmed.split(separator: ".", maxSplits: 1)
            let fraction = parts.count == 2 ? String(parts[1]) : ""
            return String(parts.first ?? "") + "." + fraction.padding(to: 9)
        }
        return key(time) < key(other)
    }
}

private extension String {
    func padding(to length: Int) -> String {
        count >= length ? String(prefix(length)) : self + String(repeating: "0", count: length - count)
    }
}

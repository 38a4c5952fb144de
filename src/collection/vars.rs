//! The template variables a request names, step by step, for the plan stage's check that each
//! is defined before anything connects.

use super::*;

/// The variable a `subscribe` step sets to its subscription's id.
pub const LAST_ID: &str = "last_id";

impl Connection {
    /// The variables its settings name (URL, headers, subprotocols, TLS files, proxy, protocol
    /// options), each with its line.
    pub fn refs(&self) -> Vec<(usize, VarRef)> {
        let c = self;
        let mut out = Vec::new();
        for v in c.url.vars() {
            out.push((c.line, v.clone()));
        }
        for t in c.headers.iter().map(|(_, h)| h).chain(&c.subprotocols) {
            for v in t.vars() {
                out.push((c.line, v.clone()));
            }
        }
        for file in [&c.tls.ca, &c.tls.cert, &c.tls.key, &c.proxy]
            .into_iter()
            .flatten()
        {
            let line = file.referenced.line() as usize;
            out.extend(file.value.vars().map(|v| (line, v.clone())));
        }
        let mut options = Vec::new();
        c.protocol.vars(&mut options);
        out.extend(options.into_iter().map(|v| (c.line, v)));
        out
    }

    /// The root names of [`Connection::refs`]: what it waits for when a step provides one.
    pub fn template_vars(&self) -> Vec<String> {
        let mut names: Vec<String> = self.refs().into_iter().map(|(_, v)| v.root).collect();
        names.sort();
        names.dedup();
        names
    }
}

impl Request {
    pub fn connection(&self, name: Option<&str>) -> &Connection {
        name.and_then(|n| self.connections.iter().find(|c| c.name == n))
            .unwrap_or(&self.connections[0])
    }

    /// The variables its connections name (URL, headers, subprotocols, CA, protocol options).
    pub fn connection_vars(&self) -> Vec<VarRef> {
        self.connection_refs().into_iter().map(|(_, v)| v).collect()
    }

    fn connection_refs(&self) -> Vec<(usize, VarRef)> {
        self.connections.iter().flat_map(Connection::refs).collect()
    }

    /// Every template variable the request names, with the line it is on; names captured by an
    /// earlier step are not listed.
    pub fn free_vars(&self) -> Vec<(usize, VarRef)> {
        let mut out = self.connection_refs();
        let mut captured: Vec<&str> = Vec::new();
        for step in &self.steps {
            let mut vars = Vec::new();
            match &step.kind {
                StepKind::Send(s) => {
                    match &s.payload {
                        Payload::Text(t) | Payload::Binary(t) => vars.extend(t.vars().cloned()),
                        Payload::Json(j) => j.vars(&mut vars),
                    }
                    matcher_vars(s.reply.as_ref().and_then(|r| r.json.as_ref()), &mut vars);
                    if let Some(stomp) = &s.stomp {
                        stomp.vars(&mut vars);
                    }
                    if let Some(invocation) = &s.signalr {
                        invocation.vars(&mut vars);
                    }
                }
                StepKind::Protocol(p) => p.ready().iter().for_each(|p| p.vars(&mut vars)),
                StepKind::Expect(e) | StepKind::WaitFor(e) => e.vars(&mut vars),
                StepKind::Snapshot(Snapshot { name: Some(t), .. })
                | StepKind::Ping(Ping { payload: t, .. })
                | StepKind::Close(Close {
                    reason: Some(t), ..
                }) => vars.extend(t.vars().cloned()),
                StepKind::Capture(c) => {
                    captured.extend(c.0.iter().map(|(n, _)| n.as_str()));
                }
                StepKind::Set(set) => {
                    // In order: a name may use the ones set before it in the same step.
                    for (name, value) in &set.0 {
                        let mut own = Vec::new();
                        value.vars(&mut own);
                        vars.extend(
                            own.into_iter()
                                .filter(|v| !captured.contains(&v.root.as_str())),
                        );
                        captured.push(name);
                    }
                }
                StepKind::Http(h) => {
                    h.vars(&mut vars);
                    out.extend(
                        std::mem::take(&mut vars)
                            .into_iter()
                            .filter(|v| !captured.contains(&v.root.as_str()))
                            .map(|v| (step.line, v)),
                    );
                    captured.extend(h.captured());
                }
                _ => {}
            }
            out.extend(
                vars.into_iter()
                    .filter(|v| !captured.contains(&v.root.as_str()))
                    .map(|v| (step.line, v)),
            );
            if step.kind.provides().contains(&LAST_ID) {
                captured.push(LAST_ID);
            }
        }
        out
    }

    /// Names captured (or `set`) anywhere in the request (a later step may use them); a
    /// `subscribe`'s `last_id` is checked in order instead ([`Request::free_vars`]).
    pub fn captured_names(&self) -> Vec<&str> {
        self.steps
            .iter()
            .flat_map(|s| s.kind.provides())
            .filter(|name| *name != LAST_ID)
            .collect()
    }
}

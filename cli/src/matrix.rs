//! `netpol matrix`: one truth table per probe, from the bitset engine.

use std::io::Write;

use netpol_core::{Engine, Matrix, PortRef, PortSpec, Protocol};

use crate::input::Inputs;
use crate::{json, Failure, MatrixFormat};

/// The endpoints shown (those of `--namespace`, or all): model indices and ids.
struct Shown<'a> {
    index: Vec<usize>,
    ids: Vec<&'a str>,
}

impl Shown<'_> {
    fn allowed(&self, matrix: &Matrix, src: usize, dst: usize) -> bool {
        matrix.allowed(self.index[src], self.index[dst])
    }
}

/// Computes the matrix of every probe and writes it in `format`, rows and columns limited
/// to `namespace` when given.
pub fn run(
    inputs: &Inputs,
    ports: &[PortSpec],
    format: MatrixFormat,
    namespace: Option<&str>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    // 80/TCP, what the Kubernetes e2e suite probes first.
    let default = [PortSpec::new(PortRef::Number(80), Protocol::TCP)];
    let probes = if ports.is_empty() {
        &default[..]
    } else {
        ports
    };
    let engine = Engine::new(&inputs.model);
    let index = inputs.shown_pods(namespace);
    let pods = &inputs.model.cluster.pods;
    let ids = index.iter().map(|&i| pods[i].id.as_str()).collect();
    let shown = Shown { index, ids };
    let matrices: Vec<(&PortSpec, Matrix)> = probes
        .iter()
        .map(|probe| (probe, engine.matrix(probe.protocol, &probe.port)))
        .collect();
    match format {
        MatrixFormat::Text => write_text(&shown, &matrices, out)?,
        MatrixFormat::Json => write_json(&shown, &matrices, out)?,
        MatrixFormat::Csv => write_csv(&shown, &matrices, out)?,
    }
    Ok(())
}

/// The Kubernetes e2e `TruthTable.PrettyPrint` layout, under a `port P/PROTO` heading.
fn write_text(
    shown: &Shown,
    matrices: &[(&PortSpec, Matrix)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for (n, (probe, matrix)) in matrices.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        writeln!(out, "port {probe}")?;
        write!(out, "-")?;
        for id in &shown.ids {
            write!(out, "\t{id}")?;
        }
        writeln!(out)?;
        let mut line = String::new();
        for (src, id) in shown.ids.iter().enumerate() {
            line.clear();
            line.push_str(id);
            for dst in 0..shown.ids.len() {
                line.push('\t');
                line.push(if shown.allowed(matrix, src, dst) {
                    '.'
                } else {
                    'X'
                });
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
    }
    Ok(())
}

/// `{"endpoints": [...], "probes": [{"port", "protocol", "allowed": [[bool]]}]}`, one matrix
/// row per line so large outputs stay diffable.
fn write_json(
    shown: &Shown,
    matrices: &[(&PortSpec, Matrix)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{{\"endpoints\": {},",
        json::string_array(shown.ids.iter().copied())
    )?;
    write!(out, " \"probes\": [")?;
    let mut line = String::new();
    for (n, (probe, matrix)) in matrices.iter().enumerate() {
        if n > 0 {
            write!(out, ",")?;
        }
        write!(
            out,
            "\n  {{\"port\": {}, \"protocol\": \"{}\", \"allowed\": [",
            json::string(&probe.port.to_string()),
            probe.protocol
        )?;
        for src in 0..shown.ids.len() {
            line.clear();
            line.push_str(if src > 0 { ",\n    [" } else { "\n    [" });
            for dst in 0..shown.ids.len() {
                if dst > 0 {
                    line.push_str(", ");
                }
                line.push_str(if shown.allowed(matrix, src, dst) {
                    "true"
                } else {
                    "false"
                });
            }
            line.push(']');
            out.write_all(line.as_bytes())?;
        }
        write!(out, "]}}")?;
    }
    writeln!(out, "]}}")?;
    Ok(())
}

/// Header `src,dst,port,protocol,allowed`; one row per probe and ordered pair, probes in
/// the order given, then sources and destinations in endpoint order.
fn write_csv(
    shown: &Shown,
    matrices: &[(&PortSpec, Matrix)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "src,dst,port,protocol,allowed")?;
    let quoted: Vec<String> = shown.ids.iter().map(|id| csv_field(id)).collect();
    for (probe, matrix) in matrices {
        let port = csv_field(&probe.port.to_string());
        for (src, s) in quoted.iter().enumerate() {
            for (dst, d) in quoted.iter().enumerate() {
                writeln!(
                    out,
                    "{s},{d},{port},{},{}",
                    probe.protocol,
                    shown.allowed(matrix, src, dst)
                )?;
            }
        }
    }
    Ok(())
}

/// RFC 4180 quoting, only when needed (ids from the compact form may contain anything).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("prod/api"), "prod/api");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}

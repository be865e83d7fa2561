//! `netpol matrix`: one truth table per probe, from the bitset engine.

use std::io::Write;

use netpol_core::{Engine, Matrix, PortRef, PortSpec, Protocol};

use crate::input::Inputs;
use crate::{json, Failure, MatrixFormat};

/// Computes the matrix of every probe and writes it in `format`.
pub fn run(
    inputs: &Inputs,
    ports: &[PortSpec],
    format: MatrixFormat,
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
    let ids: Vec<&str> = inputs
        .model
        .cluster
        .pods
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    let matrices: Vec<(&PortSpec, Matrix)> = probes
        .iter()
        .map(|probe| (probe, engine.matrix(probe.protocol, &probe.port)))
        .collect();
    match format {
        MatrixFormat::Text => write_text(&ids, &matrices, out)?,
        MatrixFormat::Json => write_json(&ids, &matrices, out)?,
        MatrixFormat::Csv => write_csv(&ids, &matrices, out)?,
    }
    Ok(())
}

/// The Kubernetes e2e `TruthTable.PrettyPrint` layout, under a `port P/PROTO` heading.
fn write_text(
    ids: &[&str],
    matrices: &[(&PortSpec, Matrix)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for (n, (probe, matrix)) in matrices.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        writeln!(out, "port {probe}")?;
        write!(out, "-")?;
        for id in ids {
            write!(out, "\t{id}")?;
        }
        writeln!(out)?;
        let mut line = String::new();
        for (src, id) in ids.iter().enumerate() {
            line.clear();
            line.push_str(id);
            for dst in 0..ids.len() {
                line.push('\t');
                line.push(if matrix.allowed(src, dst) { '.' } else { 'X' });
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
    ids: &[&str],
    matrices: &[(&PortSpec, Matrix)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{{\"endpoints\": {},",
        json::string_array(ids.iter().copied())
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
        for src in 0..ids.len() {
            line.clear();
            line.push_str(if src > 0 { ",\n    [" } else { "\n    [" });
            for dst in 0..ids.len() {
                if dst > 0 {
                    line.push_str(", ");
                }
                line.push_str(if matrix.allowed(src, dst) {
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
    ids: &[&str],
    matrices: &[(&PortSpec, Matrix)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "src,dst,port,protocol,allowed")?;
    let quoted: Vec<String> = ids.iter().map(|id| csv_field(id)).collect();
    for (probe, matrix) in matrices {
        let port = csv_field(&probe.port.to_string());
        for (src, s) in quoted.iter().enumerate() {
            for (dst, d) in quoted.iter().enumerate() {
                writeln!(
                    out,
                    "{s},{d},{port},{},{}",
                    probe.protocol,
                    matrix.allowed(src, dst)
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

//! Hardware models with their published figures. A figure nobody published stays `None`.

use crate::HashSet;

use jiff::civil::Date;

use super::Fields;
use crate::csvio::CsvFile;
use crate::error::InputError;
use crate::version::Vendor;

/// One hardware model (or blade / chassis configuration).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Model {
    /// Vendor.
    pub vendor: Vendor,
    /// Short identifier used in inventories (`i4800`, `r5600`, `FAD-2200F`).
    pub id: String,
    /// Full product name.
    pub name: String,
    /// Product family (`iSeries`, `rSeries`, `FortiADC D-series`).
    pub family: String,
    /// Vendor platform id (F5 `C115`), where known.
    pub platform_id: String,
    /// Memory in GB.
    pub memory_gb: Option<f64>,
    /// L4 throughput in Gbit/s.
    pub l4_throughput_gbps: Option<f64>,
    /// L7 requests per second.
    pub l7_rps: Option<f64>,
    /// L4 connections per second.
    pub l4_cps: Option<f64>,
    /// SSL transactions per second with RSA 2048-bit keys.
    pub ssl_tps_rsa2k: Option<f64>,
    /// Maximum concurrent connections.
    pub max_concurrent_conns: Option<f64>,
    /// Power draw in watts.
    pub power_w: Option<f64>,
    /// Height in rack units.
    pub rack_units: Option<f64>,
    /// End of sale, where known.
    pub end_of_sale: Option<Date>,
    /// End of support, where known.
    pub end_of_support: Option<Date>,
    /// End of software support (no further releases for this hardware), where known; when the
    /// vendor gives several possible dates without saying which applies, the earliest, with
    /// all of them quoted in `source`.
    pub end_of_software_support: Option<Date>,
    /// Where the figures come from.
    pub source: String,
}

pub(super) fn load(file: &CsvFile) -> Result<Vec<Model>, InputError> {
    let [vendor, id, name, source] = file.require(["vendor", "model", "name", "source"])?;
    let mut seen = HashSet::default();
    let mut out = Vec::with_capacity(file.rows.len());
    for row in &file.rows {
        let f = Fields { file, row };
        let m = Model {
            vendor: f.vendor(vendor)?,
            id: f.required(id)?.to_string(),
            name: f.required(name)?.to_string(),
            family: f.opt("family").to_string(),
            platform_id: f.opt("platform_id").to_string(),
            memory_gb: f.number("memory_gb")?,
            l4_throughput_gbps: f.number("l4_throughput_gbps")?,
            l7_rps: f.number("l7_rps")?,
            l4_cps: f.number("l4_cps")?,
            ssl_tps_rsa2k: f.number("ssl_tps_rsa2k")?,
            max_concurrent_conns: f.number("max_concurrent_conns")?,
            power_w: f.number("power_w")?,
            rack_units: f.number("rack_units")?,
            end_of_sale: f.date("end_of_sale")?,
            end_of_support: f.date("end_of_support")?,
            end_of_software_support: f.date("end_of_software_support")?,
            source: f.required(source)?.to_string(),
        };
        if !seen.insert((m.vendor, m.id.to_ascii_lowercase())) {
            return Err(InputError::new(
                f.loc("model"),
                format!("model \"{}\" is listed twice for {}", m.id, m.vendor),
            ));
        }
        out.push(m);
    }
    Ok(out)
}

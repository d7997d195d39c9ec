//! faultline's reports: figures and pages drawn from run results.

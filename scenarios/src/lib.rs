//! faultline's scenarios: the RON format, the runner, fuzzing and the command line.

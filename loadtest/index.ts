// loadtest/: the load generator and its report. Speaks only HTTP to a running server; imports nothing from
// server/, engine/, model/, cache/ or quant/.
export {};

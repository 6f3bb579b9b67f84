package dsssql

// CopiedRows returns the number of rows Mappings have inserted with COPY.
func CopiedRows() int64 { return copiedRows.Load() }

package manifest

// FunctionSettings sizes a function; unset fields keep the defaults.
type FunctionSettings struct {
	MemoryMB            *int `json:"memoryMb"`
	TimeoutSeconds      *int `json:"timeoutSeconds"`
	ReservedConcurrency *int `json:"reservedConcurrency"`
}

// FunctionsConfig is a stack's shop:functions: the sizes of every function and of some.
type FunctionsConfig struct {
	Defaults  FunctionSettings            `json:"defaults"`
	Overrides map[string]FunctionSettings `json:"overrides"`
}

// Sizes is a function's resolved size; ReservedConcurrency 0: none reserved.
type Sizes struct {
	MemoryMB, TimeoutSeconds, ReservedConcurrency int
}

// SizesFor resolves a function's sizes: built-in defaults, then shop:functions.defaults,
// then the function's override.
func (c FunctionsConfig) SizesFor(name string) Sizes {
	s := Sizes{MemoryMB: 256, TimeoutSeconds: 10}
	for _, fs := range []FunctionSettings{c.Defaults, c.Overrides[name]} {
		if fs.MemoryMB != nil {
			s.MemoryMB = *fs.MemoryMB
		}
		if fs.TimeoutSeconds != nil {
			s.TimeoutSeconds = *fs.TimeoutSeconds
		}
		if fs.ReservedConcurrency != nil {
			s.ReservedConcurrency = *fs.ReservedConcurrency
		}
	}
	return s
}

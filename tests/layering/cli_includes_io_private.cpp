// Compiled with the cli layer's include path: must NOT compile (io's private header).
#include "io/json_reader.hpp"

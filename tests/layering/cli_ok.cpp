// Compiled with the cli layer's include path: must compile (io's public headers).
#include "bwplan/plan_file.hpp"
#include "bwplan/render.hpp"

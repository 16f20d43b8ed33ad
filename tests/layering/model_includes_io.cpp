// Compiled with the model layer's include path only: must NOT compile (io is above).
#include "bwplan/render.hpp"

// Compiled with the model layer's include path only: must compile.
#include "bwplan/estimate.hpp"

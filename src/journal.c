#include "config.h"

#include "journal.h"

/* HTTP nodes and notifications with libcurl (issue 5). */
#ifndef DAGEXEC_HTTP_H
#define DAGEXEC_HTTP_H

#endif

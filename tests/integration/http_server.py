# test HTTP server (issue 5)

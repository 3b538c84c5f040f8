/* A cowsql node for the client's live tests: node ID ADDRESS DIR.
 * Binds ADDRESS (also its raft address), prints "ready" once started, and stops
 * cleanly when its standard input is closed. */
#include <cowsql.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	cowsql_node *n = NULL;
	char buf[64];
	int rv;

	if (argc != 4) {
		fprintf(stderr, "usage: node ID ADDRESS DIR\n");
		return 2;
	}
	rv = cowsql_node_create(strtoull(argv[1], NULL, 10), argv[2], argv[3], &n);
	if (rv != 0) {
		fprintf(stderr, "cowsql_node_create: %d %s\n", rv, cowsql_node_errmsg(n));
		return 1;
	}
	rv = cowsql_node_set_bind_address(n, argv[2]);
	if (rv != 0) {
		fprintf(stderr, "cowsql_node_set_bind_address: %d %s\n", rv, cowsql_node_errmsg(n));
		return 1;
	}
	rv = cowsql_node_start(n);
	if (rv != 0) {
		fprintf(stderr, "cowsql_node_start: %d %s\n", rv, cowsql_node_errmsg(n));
		return 1;
	}
	printf("ready %s\n", cowsql_node_get_bind_address(n));
	fflush(stdout);
	while (read(0, buf, sizeof buf) > 0) {
	}
	cowsql_node_stop(n);
	cowsql_node_destroy(n);
	return 0;
}

// edgewise: the server binary. See server/app.h for the start-up and shutdown order.
#include "server/app.h"

int main(int argc, char** argv) { return ew::server::RunEdgewise(argc, argv); }

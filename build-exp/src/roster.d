build-exp/src/roster.o: src/roster.c src/roster.h src/config.h \
 src/hashmap.h src/util.h
src/roster.h:
src/config.h:
src/hashmap.h:
src/util.h:
